import type { EntityManager } from '@mikro-orm/core'
import type { Static, TObject, TSchema } from '@sinclair/typebox'
import type { Registry as MetricsRegistry } from 'prom-client'
import type { DependencyContainer, InjectionToken } from 'tsyringe'
import type { Config, DeepReadonly, SettingsDefaults } from '../config/schema.js'
import type { Secrets } from '../config/secrets.js'
import type { AnyEntitySchema } from '../db/database.js'
import type { Dialect, DialectMigrations } from '../db/migrations.js'
import type { EventBus } from '../events/bus.js'
import type { HealthCheck } from '../http/health.js'
import type { HttpScope } from '../http/server.js'
import type { EnqueueOptions, JobDefinition } from '../jobs/port.js'
import type { KeyValueStore } from '../kv/port.js'
import type { Logger } from '../logger.js'
import type { CallObserver } from '../pipeline/lifecycle.js'
import type { LimitPolicy } from '../pipeline/limits.js'
import type { PersonalModels } from '../pipeline/personal-upstream.js'
import type { RetentionTask } from '../retention/task.js'
import type { AuthStrategy } from '../auth/principal.js'
import type { ChatProvider } from '../pipeline/provider.js'
import type { Setting, SettingDefinition, SettingInfo } from '../settings/registry.js'
import type { ObjectStorage } from '../storage/port.js'
import type { UiAdminSection, UiNavItem, UiPage, UiPartial } from '../ui/contributions.js'
import type { Gateway } from './gateway.js'
import type { PluginRegistry } from './registry.js'

/**
 * A plugin: data the kernel checks at load (id, version, core range, dependencies, options
 * schema) and a `setup` that registers into the extension points.
 *
 * @example
 * export default definePlugin({
 *   id: 'tickets',
 *   version: '1.0.0',
 *   requires: ['identity'],
 *   options: Type.Object({ expire_days: Type.Integer({ minimum: 1, default: 30 }) }),
 *   async setup(ctx) {
 *     ctx.db.entities([Ticket])
 *     ctx.db.migrations(ticketMigrations)
 *     ctx.http.get('/api/tickets', async () => ({ items: [] }))
 *   },
 * })
 */
export interface PluginDefinition<TOptions extends TSchema = TObject> {
  /** kebab-case, unique in a gateway; also the prefix of its jobs, settings and migrations. */
  readonly id: string
  /** semver of the plugin itself. */
  readonly version: string
  readonly description?: string
  /** semver range of @parley/core this plugin is written for; checked at load. */
  readonly core?: string
  /** Ids of plugins that must load first; their exported services are bridged in. */
  readonly requires?: readonly string[]
  /**
   * Ids of plugins used when they are loaded: those present load first and their services are
   * bridged in, like `requires`; an absent one is not an error (resolve its token optionally).
   */
  readonly optional?: readonly string[]
  /** TypeBox schema of the plugin's options; defaults are filled, unknown keys refused. */
  readonly options?: TOptions
  setup(ctx: PluginContext<Static<TOptions>>): void | Promise<void>
}

export function definePlugin<TOptions extends TSchema = TObject>(
  definition: PluginDefinition<TOptions>,
): PluginDefinition<TOptions> {
  return Object.freeze({ ...definition })
}

/** Any plugin, whatever its options schema (for lists of plugins). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyPluginDefinition = PluginDefinition<any>

/** A definition with the options the operator gave it (config file or code). */
export interface PluginEntry {
  readonly plugin: AnyPluginDefinition
  readonly options?: Readonly<Record<string, unknown>>
}

export type { AnyEntitySchema } from '../db/database.js'

/** The database as a plugin sees it. */
export interface PluginDatabase {
  readonly dialect: Dialect
  /** Declares entities the plugin owns (setup only). */
  entities(entities: readonly AnyEntitySchema[]): void
  /** Declares the plugin's migrations for both dialects (setup only). */
  migrations(migrations: DialectMigrations): void
  /** A fresh unit of work; available once the gateway has started. */
  em(): EntityManager
}

export interface PluginJobs {
  /** Names must start with `<plugin-id>.`. */
  define<TData>(definition: JobDefinition<TData>): void
  enqueue<TData>(name: string, data: TData, options?: EnqueueOptions): Promise<string>
}

export interface PluginSettings {
  /** Declares `<plugin-id>.<key>`; the console renders a form from the schema. */
  define<T extends TSchema>(definition: SettingDefinition<T>): Setting<Static<T>>
  /**
   * Reads any setting: a core one typed by its schema (`get('guest_rpm')` is a number), or another
   * plugin's (`tickets.expire_days`, unknown: its own plugin reads it typed through `define`).
   */
  get<K extends keyof SettingsDefaults>(key: K): SettingsDefaults[K]
  get(key: string): unknown
  list(): SettingInfo[]
}

export interface PluginUi {
  readonly pages: PluginRegistry<UiPage>
  readonly nav: PluginRegistry<UiNavItem>
  readonly partials: PluginRegistry<UiPartial>
  readonly adminSections: PluginRegistry<UiAdminSection>
}

/** A `parley <name>` command contributed by a plugin (e.g. `create-admin`). */
export interface CliCommand {
  readonly description: string
  /** Runs with a started gateway (migrated, not listening); resolves to the exit code. */
  run(args: readonly string[], gateway: Gateway): Promise<number>
}

/** A check `parley doctor` runs and explains in plain words. */
export interface DoctorCheck {
  readonly title: string
  /** Resolves to a short note when fine; rejects with what is wrong and how to fix it. */
  run(): Promise<string | void>
}

export interface PluginContext<TOptions = Record<string, unknown>> {
  readonly id: string
  readonly options: DeepReadonly<TOptions>
  readonly config: Config
  readonly secrets: Secrets
  /** Child logger bound to `plugin: <id>`. */
  readonly log: Logger
  /** The plugin's own encapsulated Fastify scope: its hooks and decorators stay inside. */
  readonly http: HttpScope
  /** Child DI container: kernel services, the plugin's own and those its dependencies provide. */
  readonly container: DependencyContainer
  readonly providers: PluginRegistry<ChatProvider>
  readonly auth: PluginRegistry<AuthStrategy>
  readonly limits: PluginRegistry<LimitPolicy>
  /** Observers of every data-plane call: started, each piece of the answer, ended (pipeline/lifecycle.ts). */
  readonly calls: PluginRegistry<CallObserver>
  /** Users' own upstreams for the portal's chat: its model picker and `model_config_id` (pipeline/personal-upstream.ts). */
  readonly personalModels: PluginRegistry<PersonalModels>
  /** What the daily retention job prunes (`log_retention_days`). */
  readonly retention: PluginRegistry<RetentionTask>
  readonly storage: PluginRegistry<ObjectStorage>
  readonly health: PluginRegistry<HealthCheck>
  readonly doctor: PluginRegistry<DoctorCheck>
  readonly commands: PluginRegistry<CliCommand>
  readonly ui: PluginUi
  readonly db: PluginDatabase
  readonly jobs: PluginJobs
  readonly settings: PluginSettings
  readonly events: EventBus
  readonly kv: KeyValueStore
  readonly metrics: MetricsRegistry
  /** Offers a service to plugins that list this one in `requires`. */
  provide<T>(token: InjectionToken<T>, value: T): void
  /** Runs after migrations, once the gateway starts. */
  onStart(hook: () => Promise<void> | void): void
  /** Runs at shutdown after requests drained, in reverse plugin order. */
  onStop(hook: () => Promise<void> | void): void
}
