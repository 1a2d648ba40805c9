import 'reflect-metadata'
import type { Registry as MetricsRegistry } from 'prom-client'
import { container as tsyringe, type DependencyContainer, type InjectionToken } from 'tsyringe'
import { installBlocklistAdminRoutes } from '../blocklist/admin-routes.js'
import { Blocklist, installBlocklistGuard } from '../blocklist/blocklist.js'
import { blocklistEntities } from '../blocklist/entities.js'
import { pruneBlockedAttempts } from '../blocklist/retention.js'
import { installCatalogAdminRoutes } from '../catalog/admin-routes.js'
import { KeyAutoDisable } from '../catalog/key-disable.js'
import { ChannelStore } from '../catalog/channels.js'
import { catalogEntities } from '../catalog/entities.js'
import { ChatRouteStore, ModelStore } from '../catalog/models.js'
import { SecretBox } from '../catalog/secret-box.js'
import { CATALOG_CHANGED, CatalogCache, loadSnapshot } from '../catalog/snapshot.js'
import { loadConfig, type LoadConfigOptions } from '../config/load.js'
import { SettingsDefaultsSchema, type Config } from '../config/schema.js'
import { resolveSecrets, type Secrets } from '../config/secrets.js'
import { dialectOf, openDatabase, type Database } from '../db/database.js'
import type { MigrationUnit } from '../db/migrations.js'
import { coreMigrations } from '../db/migrations/index.js'
import { errors, ParleyError } from '../errors.js'
import { EventBus } from '../events/bus.js'
import { health, type Lifecycle } from '../http/health.js'
import { createMetricsRegistry, httpMetrics } from '../http/metrics.js'
import { createHttpServer, type HttpScope } from '../http/server.js'
import { createJobQueue, installJobsAdminRoutes } from '../jobs/index.js'
import { installAuthentication } from '../auth/authenticate.js'
import { ProviderChannelTester } from '../pipeline/channel-tester.js'
import { ChatPipeline } from '../pipeline/chat-pipeline.js'
import { chatService } from '../pipeline/chat-service.js'
import { installChatRoutes } from '../pipeline/chat-routes.js'
import { installModelRoutes } from '../pipeline/models-routes.js'
import { UpstreamAgents } from '../upstream/upstream-agents.js'
import type { JobQueue } from '../jobs/port.js'
import { createKeyValueStore } from '../kv/index.js'
import type { KeyValueStore } from '../kv/port.js'
import { createLogger } from '../log.js'
import type { Logger } from '../logger.js'
import { installRetentionJob } from '../retention/job.js'
import { installSettingsAdminRoutes } from '../settings/admin-routes.js'
import { CORE_SETTING_LOCALES } from '../settings/core-texts.js'
import { SystemConfig } from '../settings/entities.js'
import { SettingsRegistry } from '../settings/registry.js'
import { ActiveStorage } from '../storage/active.js'
import { ObjectRefs } from '../pipeline/object-refs.js'
import { ObjectDelivery } from '../pipeline/object-delivery.js'
import { ThemeEngine } from '../ui/engine.js'
import { installThemeRoutes } from '../ui/routes.js'
import { registerAdminSections } from '../ui/sections.js'
import { installThemeSettings } from '../ui/theme-settings.js'
import { installUsageAdminRoutes } from '../usage/admin-routes.js'
import { installUsageUserRoutes } from '../usage/user-routes.js'
import { usageEntities } from '../usage/entities.js'
import { usageRetentionTask } from '../usage/retention.js'
import { UsageWriter } from '../usage/writer.js'
import { createPluginContext, type KernelServices } from './context.js'
import { importPlugins, resolvePlugins, type LoadedPlugin } from './loader.js'
import type { AnyEntitySchema, AnyPluginDefinition, PluginEntry } from './plugin.js'
import { createRegistries, sealAll, type Registries } from './registries.js'
import { TOKENS } from './tokens.js'
import { CORE_VERSION } from './version.js'

const JOBS_START_GRACE_MS = 5000
const JOBS_RETRY_MS = 5000
/** After the drain deadline ended the running calls: time for their last events to reach the clients. */
const SHUTDOWN_FLUSH_MS = 200

export interface GatewayOptions {
  /** A config from `loadConfig`, or how to load one (file, env, overrides). */
  readonly config?: Config | LoadConfigOptions
  /** Plugins given in code, in addition to those the config file names. */
  readonly plugins?: ReadonlyArray<AnyPluginDefinition | PluginEntry>
  /** Replaces the logger built from `log.level` (tests pass a silent or capturing one). */
  readonly logger?: Logger
  /** Apply pending migrations in `start()`; default true. */
  readonly migrate?: boolean
  /** Secrets to use instead of resolving them (which may write `<data_dir>/secrets.json`). */
  readonly secrets?: Secrets
}

export interface Gateway {
  readonly config: Config
  readonly log: Logger
  readonly http: HttpScope
  readonly container: DependencyContainer
  readonly registries: Registries
  readonly plugins: readonly LoadedPlugin[]
  readonly kv: KeyValueStore
  readonly jobs: JobQueue
  readonly settings: SettingsRegistry
  readonly events: EventBus
  readonly metrics: MetricsRegistry
  readonly db: Database
  /** The in-memory catalog snapshot routing reads. */
  readonly catalog: CatalogCache
  /** Buffered, batched writer of usage rows. */
  readonly usage: UsageWriter
  /** The active theme, its templates compiled once at setup. */
  readonly theme: ThemeEngine
  readonly state: Lifecycle
  /** Migrates (unless disabled), loads settings, starts jobs and plugin start hooks. */
  start(): Promise<void>
  /** Starts if needed and listens; resolves to the address, e.g. `http://127.0.0.1:8000`. */
  listen(options?: { port?: number; host?: string }): Promise<string>
  /** Graceful stop: refuse new requests, drain running ones to the deadline, close everything. */
  stop(): Promise<void>
  inject: HttpScope['inject']
}

/**
 * Builds a gateway: config, logger, secrets, KV, jobs, database and every plugin's setup in
 * dependency order. Nothing listens until `listen()`; nothing is migrated until `start()`.
 *
 * @example
 * const gateway = await createGateway({ plugins: [identity, openai] })
 * await gateway.listen()
 */
export async function createGateway(options: GatewayOptions = {}): Promise<Gateway> {
  const config = isConfig(options.config) ? options.config : loadConfig(options.config)
  const log = options.logger ?? createLogger(config)
  const secrets = options.secrets ?? resolveSecrets(config, log)
  const entries: PluginEntry[] = [
    ...(options.plugins ?? []).map(entry => ('plugin' in entry ? entry : { plugin: entry })),
    ...(await importPlugins(config.plugins, config.file)),
  ] as PluginEntry[]
  const plugins = resolvePlugins(entries, CORE_VERSION)

  const cleanups: Array<() => Promise<void>> = []
  try {
    const kv = await createKeyValueStore({ redisUrl: config.redis.url, prefix: config.redis.prefix, logger: log })
    cleanups.push(() => kv.close())
    // Jobs live under the KV prefix but in a namespace of their own, so their keys never meet.
    const jobs = await createJobQueue({ redisUrl: config.redis.url, prefix: `${config.redis.prefix}jobs`, logger: log })
    cleanups.push(() => jobs.close())
    const events = new EventBus(log)
    const settings = new SettingsRegistry(kv, events, log)
    settings.defineCore(SettingsDefaultsSchema, config.settings, CORE_SETTING_LOCALES)
    const metrics = createMetricsRegistry()
    const registries = createRegistries()
    const root = tsyringe.createChildContainer()
    let database: Database | undefined
    const kernel: KernelServices = {
      config,
      secrets,
      log,
      root,
      registries,
      kv,
      jobs,
      settings,
      events,
      metrics,
      dialect: dialectOf(config),
      database: () => database,
      provided: new Map<string, Array<[InjectionToken<unknown>, unknown]>>(),
      entities: [SystemConfig, ...catalogEntities, ...usageEntities, ...blocklistEntities] as AnyEntitySchema[],
      units: [{ unit: 'core', migrations: coreMigrations }] as MigrationUnit[],
      startHooks: [],
      stopHooks: [],
    }
    for (const [token, value] of [
      [TOKENS.config, config],
      [TOKENS.logger, log],
      [TOKENS.secrets, secrets],
      [TOKENS.kv, kv],
      [TOKENS.jobs, jobs],
      [TOKENS.settings, settings],
      [TOKENS.events, events],
      [TOKENS.metrics, metrics],
      [TOKENS.registries, registries],
    ] as const) {
      root.register(token, { useValue: value })
    }
    // Resolvable during setup; the driver behind it is chosen once every plugin has registered its own.
    const storage = new ActiveStorage()
    root.register(TOKENS.storage, { useValue: storage })
    const objects = new ObjectRefs(storage, secrets.secretKey)
    root.register(TOKENS.objects, { useValue: objects })

    let state: Lifecycle = 'starting'
    const app = await createHttpServer(config, log)
    cleanups.push(() => app.close())
    // Before any route, so the guard covers every route but the exempt ones (the probes, the console).
    const blocklist = new Blocklist({ em: () => openEm(), kv, log: log.child({ component: 'blocklist' }), metrics })
    installBlocklistGuard(app, blocklist)
    cleanups.push(() => blocklist.attempts.close())
    // Swagger and its UI only where the docs are on (not in production by default).
    if (config.server.docs) await (await import('../http/docs.js')).installDocs(app, CORE_VERSION)
    if (config.server.metrics.enabled) await app.register(httpMetrics, { registry: metrics, ...config.server.metrics })
    await app.register(health, { state: () => state, checks: () => registries.health.list() })
    installAuthentication(app, registries.auth)
    const openEm = () => {
      if (!database) throw errors.PARLEY_ERR_HTTP_UNAVAILABLE({ reason: 'the database is not open yet' })
      return database.em()
    }
    const channelStore = new ChannelStore(SecretBox.fromSecrets(secrets), registries.providers)
    const catalog = new CatalogCache(() => loadSnapshot(openEm(), channelStore, log), kv, log)
    root.register(TOKENS.catalog, { useValue: catalog })
    installModelRoutes(app, catalog, settings, registries.personalModels)
    // Usage rows never wait on the database: buffered here, written in batches, flushed at stop.
    const usage = new UsageWriter({ em: openEm, log: log.child({ component: 'usage' }), metrics })
    root.register(TOKENS.usage, { useValue: usage })
    cleanups.push(() => usage.close())
    // The operator's config key, read once: no runtime setting can open the gateway's own host.
    const allowLoopback = config.upstream.allow_loopback
    const agents = new UpstreamAgents({
      connectTimeoutMs: config.upstream.connect_timeout_ms,
      keepAliveTimeoutMs: config.upstream.keep_alive_timeout_ms,
      connections: config.upstream.connections,
      allowLoopback,
    })
    cleanups.push(() => agents.close())
    const catalogChanged = () =>
      kv.publish(CATALOG_CHANGED, '1').catch(error => log.warn({ err: error }, 'could not announce a catalog change'))
    const keyDisable = new KeyAutoDisable(openEm, catalogChanged, log.child({ component: 'catalog' }))
    const pipeline = new ChatPipeline({
      keys: keyDisable,
      catalog,
      providers: registries.providers,
      limits: registries.limits,
      observers: registries.calls,
      usage,
      settings,
      agents,
      upstream: config.upstream,
      log,
      metrics,
      objects: new ObjectDelivery(storage, objects, events),
    })
    installChatRoutes(app, pipeline, registries.personalModels)
    root.register(TOKENS.chat, { useValue: chatService(pipeline) })
    installSettingsAdminRoutes(app, settings)
    installBlocklistAdminRoutes(app, openEm, blocklist)
    registries.retention.register(
      'blocked-attempts',
      { prune: context => pruneBlockedAttempts(openEm, context) },
      'core',
    )
    installUsageAdminRoutes(app, { em: openEm, settings })
    installUsageUserRoutes(app, { em: openEm, settings })
    registries.retention.register('usage-logs', usageRetentionTask(openEm), 'core')
    installRetentionJob(app, { jobs, tasks: registries.retention, settings, events })
    installJobsAdminRoutes(app, jobs)
    installCatalogAdminRoutes(app, {
      em: openEm,
      channels: channelStore,
      models: new ModelStore(),
      routes: new ChatRouteStore(),
      addressPolicy: () => ({ allowPrivate: settings.get('allow_private_upstreams'), allowLoopback }),
      tester: new ProviderChannelTester({
        providers: registries.providers,
        agents,
        settings,
        upstream: config.upstream,
      }),
      changed: catalogChanged,
      keys: keyDisable,
    })
    keyDisable.onReenabled = (channelId, keyIds) => {
      for (const keyId of keyIds) pipeline.health.success(channelId, keyId)
    }
    registries.health.register(
      'database',
      { check: () => (database ? database.ping() : Promise.reject(new Error('not open'))) },
      'core',
    )
    // Redis is reported but not critical: without it the data plane serves with local limits,
    // so taking every instance out of the load balancer would turn a degradation into an outage.
    if (kv.kind === 'redis') registries.health.register('redis', { check: () => kv.ping(), critical: false }, 'core')

    let inSetup = true
    for (const loaded of plugins) {
      const id = loaded.definition.id
      const register = async (scope: HttpScope) => {
        const ctx = createPluginContext(kernel, loaded, scope, () => inSetup)
        try {
          await loaded.definition.setup(ctx as never)
        } catch (error) {
          const reason = error instanceof ParleyError ? `${error.code}: ${error.message}` : (error as Error).message
          throw errors.PARLEY_ERR_PLUGIN_SETUP({ plugin: id, reason }, { cause: error })
        }
      }
      Object.defineProperty(register, 'name', { value: `parley-plugin-${id}` })
      await app.register(register)
    }
    // After every plugin's setup, so the drivers, pages and partials they registered are all known.
    storage.choose(config.storage.driver, registries)
    registerAdminSections(registries.uiAdminSections, registries.uiPages, registries.uiNav)
    const pages = registries.uiPages.list()
    const theme = ThemeEngine.load({
      theme: config.theme,
      themesDir: config.themes_dir,
      pages,
      partials: registries.uiPartials.list(),
      log,
    })
    installThemeSettings(theme, settings, events, log)
    installThemeRoutes(app, theme, {
      pages,
      nav: registries.uiNav.list(),
      settings,
      storageOrigin: () => storage.browserOrigin,
    })
    await app.ready()
    inSetup = false
    sealAll(registries)

    database = await openDatabase({ config, entities: kernel.entities, units: kernel.units, log })
    cleanups.push(() => (database as Database).close())
    root.register(TOKENS.database, { useValue: database })
    const db = database

    // With Redis down at boot the gateway still serves, with this instance's limits; BullMQ workers start as
    // soon as Redis answers. The first attempt gets a few seconds before start() goes on.
    let jobsRetry: NodeJS.Timeout | undefined
    const startJobs = async () => {
      const attempt = (): Promise<boolean> =>
        jobs.start().then(
          () => true,
          error => {
            log.warn({ err: error }, 'job queue could not start; retrying in 5 s')
            return false
          },
        )
      const first = attempt()
      const ready = await Promise.race([
        first,
        new Promise<'slow'>(resolve => setTimeout(() => resolve('slow'), JOBS_START_GRACE_MS).unref()),
      ])
      if (ready === true) return
      if (ready === 'slow') log.warn('job queue is not ready yet (is Redis reachable?); serving without it until it is')
      const retry = async (previous: Promise<boolean>) => {
        if (await previous) return
        if (state === 'stopping' || state === 'stopped') return
        jobsRetry = setTimeout(() => void retry(attempt()), JOBS_RETRY_MS)
        jobsRetry.unref()
      }
      void retry(first)
    }

    let starting: Promise<void> | undefined
    let stopping: Promise<void> | undefined
    const start = () =>
      (starting ??= (async () => {
        if (options.migrate !== false) {
          const applied = await db.migrate()
          if (applied.length > 0) log.info({ applied }, 'database migrated')
        }
        await settings.start(() => db.em())
        await catalog.start()
        await blocklist.start()
        // Pages allow a bucket's origin in their CSP; signing a URL needs no network.
        await storage.learnOrigin().catch((error: unknown) => log.warn({ err: error }, 'storage origin unknown'))
        await startJobs()
        for (const { plugin, hook } of kernel.startHooks) {
          try {
            await hook()
          } catch (error) {
            throw errors.PARLEY_ERR_PLUGIN_SETUP(
              { plugin, reason: `start hook failed: ${(error as Error).message}` },
              { cause: error },
            )
          }
        }
        if (allowLoopback) {
          log.warn(
            { key: 'upstream.allow_loopback', source: config.sources['upstream.allow_loopback'] ?? 'default' },
            'loopback upstreams are admitted: channels may point at servers on this host (link-local and metadata addresses stay refused)',
          )
        }
        state = 'running'
        log.info(
          { plugins: plugins.map(p => p.definition.id), database: db.dialect, kv: kv.kind, jobs: jobs.kind },
          'gateway started',
        )
      })())

    const stop = () =>
      (stopping ??= (async () => {
        state = 'stopping'
        clearTimeout(jobsRetry)
        const deadline = setTimeout(() => {
          log.warn(
            { timeout_ms: config.server.shutdown_timeout_ms, calls: pipeline.running },
            'drain deadline reached; ending running calls, then closing remaining connections',
          )
          // Each running stream ends with an error event the client understands and a usage row
          // marked as cut by the shutdown; the sockets close once those last writes went out.
          pipeline.stopAll('shutdown')
          setTimeout(() => app.server.closeAllConnections(), SHUTDOWN_FLUSH_MS).unref()
        }, config.server.shutdown_timeout_ms)
        deadline.unref()
        try {
          await app.close()
        } finally {
          clearTimeout(deadline)
        }
        for (const { plugin, hook } of [...kernel.stopHooks].reverse()) {
          await Promise.resolve()
            .then(hook)
            .catch(error => log.error({ err: error, plugin }, 'plugin stop hook failed'))
        }
        const steps: Array<[string, () => Promise<void>]> = [
          ['usage', () => usage.close()],
          ['settings', () => settings.stop()],
          ['catalog', () => catalog.stop()],
          ['blocklist', () => blocklist.stop()],
          ['jobs', () => jobs.close()],
          ['database', () => db.close()],
          ['kv', () => kv.close()],
          ['upstream connections', () => agents.close()],
        ]
        for (const [name, step] of steps)
          await step().catch(error => log.error({ err: error, step: name }, 'shutdown step failed'))
        state = 'stopped'
        log.info('gateway stopped')
      })())

    return {
      config,
      log,
      http: app,
      container: root,
      registries,
      plugins,
      kv,
      jobs,
      settings,
      events,
      metrics,
      db,
      catalog,
      usage,
      theme,
      get state() {
        return state
      },
      start,
      async listen(listenOptions = {}) {
        await start()
        return app.listen({
          port: listenOptions.port ?? config.server.port,
          host: listenOptions.host ?? config.server.host,
        })
      },
      stop,
      inject: app.inject.bind(app) as HttpScope['inject'],
    }
  } catch (error) {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined)
    throw error
  }
}

function isConfig(value: GatewayOptions['config']): value is Config {
  return typeof value === 'object' && value !== null && 'sources' in value && 'server' in value
}
