import type { Registry as MetricsRegistry } from 'prom-client'
import type { DependencyContainer, InjectionToken } from 'tsyringe'
import type { Config } from '../config/schema.js'
import type { Secrets } from '../config/secrets.js'
import type { Database } from '../db/database.js'
import { checkDialectsAgree, type Dialect, type MigrationUnit } from '../db/migrations.js'
import { errors } from '../errors.js'
import type { EventBus } from '../events/bus.js'
import type { HttpScope } from '../http/server.js'
import type { JobDefinition, JobQueue, JobRun } from '../jobs/port.js'
import type { KeyValueStore } from '../kv/port.js'
import type { Logger } from '../logger.js'
import type { SettingsRegistry } from '../settings/registry.js'
import type { LoadedPlugin } from './loader.js'
import type { AnyEntitySchema, PluginContext } from './plugin.js'
import type { Registries } from './registries.js'
import { forPlugin } from './registry.js'

const SETTING_KEY = /^[a-z][a-z0-9_]*$/

/** What the kernel shares with every plugin context. */
export interface KernelServices {
  readonly config: Config
  readonly secrets: Secrets
  readonly log: Logger
  readonly root: DependencyContainer
  readonly registries: Registries
  readonly kv: KeyValueStore
  readonly jobs: JobQueue
  readonly settings: SettingsRegistry
  readonly events: EventBus
  readonly metrics: MetricsRegistry
  readonly dialect: Dialect
  database(): Database | undefined
  /** Services each plugin offered with `provide`, bridged into its dependents. */
  readonly provided: Map<string, Array<[InjectionToken<unknown>, unknown]>>
  readonly entities: AnyEntitySchema[]
  readonly units: MigrationUnit[]
  readonly startHooks: Array<{ plugin: string; hook: () => Promise<void> | void }>
  readonly stopHooks: Array<{ plugin: string; hook: () => Promise<void> | void }>
}

/**
 * Builds the context a plugin's setup receives. Registration methods only work during setup
 * (`isSetup`), so a plugin cannot change the gateway's shape while it serves requests.
 */
export function createPluginContext(
  kernel: KernelServices,
  loaded: LoadedPlugin,
  http: HttpScope,
  isSetup: () => boolean,
): PluginContext {
  const { definition, options } = loaded
  const id = definition.id
  const log = kernel.log.child({ plugin: id })
  const container = kernel.root.createChildContainer()
  for (const dependency of [...(definition.requires ?? []), ...(definition.optional ?? [])]) {
    for (const [token, value] of kernel.provided.get(dependency) ?? []) container.register(token, { useValue: value })
  }
  const duringSetup = (what: string) => {
    if (!isSetup()) throw errors.PARLEY_ERR_REGISTRY_CLOSED({ registry: what })
  }
  const r = kernel.registries
  return {
    id,
    options,
    config: kernel.config,
    secrets: kernel.secrets,
    log,
    http,
    container,
    providers: forPlugin(r.providers, id),
    auth: forPlugin(r.auth, id),
    limits: forPlugin(r.limits, id),
    calls: forPlugin(r.calls, id),
    personalModels: forPlugin(r.personalModels, id),
    retention: forPlugin(r.retention, id),
    storage: forPlugin(r.storage, id),
    health: forPlugin(r.health, id),
    doctor: forPlugin(r.doctor, id),
    commands: forPlugin(r.commands, id),
    ui: {
      pages: forPlugin(r.uiPages, id),
      nav: forPlugin(r.uiNav, id),
      partials: forPlugin(r.uiPartials, id),
      adminSections: forPlugin(r.uiAdminSections, id),
    },
    db: {
      dialect: kernel.dialect,
      entities(list) {
        duringSetup('Entities')
        kernel.entities.push(...list)
      },
      migrations(migrations) {
        duringSetup('Migrations')
        const problem = checkDialectsAgree(id, migrations)
        if (problem) throw errors.PARLEY_ERR_PLUGIN_INVALID({ plugin: id, reason: problem })
        kernel.units.push({ unit: id, migrations })
      },
      em() {
        const database = kernel.database()
        if (!database) throw errors.PARLEY_ERR_HTTP_UNAVAILABLE({ reason: 'the database is not open yet' })
        return database.em()
      },
    },
    jobs: {
      define<TData>(definition: JobDefinition<TData>) {
        if (!definition.name.startsWith(`${id}.`)) {
          throw errors.PARLEY_ERR_JOB_INVALID({
            name: definition.name,
            reason: `job names of plugin ${id} start with "${id}."`,
          })
        }
        kernel.jobs.define({
          ...definition,
          handler: (run: JobRun<TData>) => definition.handler({ ...run, log: run.log.child({ plugin: id }) }),
        })
      },
      enqueue: (name, data, enqueueOptions) => kernel.jobs.enqueue(name, data, enqueueOptions),
    },
    settings: {
      define(setting) {
        duringSetup('Settings')
        if (!SETTING_KEY.test(setting.key)) {
          throw errors.PARLEY_ERR_PLUGIN_INVALID({
            plugin: id,
            reason: `setting key "${setting.key}" must be snake_case`,
          })
        }
        return kernel.settings.define({ ...setting, key: `${id}.${setting.key}` }, id)
      },
      get: (key: string) => kernel.settings.get(key),
      list: () => kernel.settings.list(),
    },
    events: kernel.events,
    kv: kernel.kv,
    metrics: kernel.metrics,
    provide<T>(token: InjectionToken<T>, value: T) {
      duringSetup('Services')
      container.register(token, { useValue: value })
      const list = kernel.provided.get(id) ?? []
      list.push([token as InjectionToken<unknown>, value])
      kernel.provided.set(id, list)
    },
    onStart(hook) {
      duringSetup('Start hooks')
      kernel.startHooks.push({ plugin: id, hook })
    },
    onStop(hook) {
      duringSetup('Stop hooks')
      kernel.stopHooks.push({ plugin: id, hook })
    },
  } satisfies PluginContext as PluginContext
}
