import { accessSync, constants, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import path from 'node:path'
import { loadConfig } from '../config/load.js'
import type { Config } from '../config/schema.js'
import { ParleyError } from '../errors.js'
import { createGateway, type Gateway } from '../kernel/gateway.js'
import { importPlugins, resolvePlugins } from '../kernel/loader.js'
import { CORE_VERSION } from '../kernel/version.js'
import { createKeyValueStore } from '../kv/index.js'
import { createLogger } from '../log.js'
import { redactCredentials } from '../redact.js'
import type { CliIo } from './run.js'

const DOCTOR_DB_TIMEOUT_MS = 5000
const EVENT_LOOP_SAMPLE_MS = 500
/** Idle, timers should fire within a few ms; more means the CPU is not ours. */
const EVENT_LOOP_SLOW_MS = 20
/** Doctor checks, it does not configure: it never writes secrets.json, so it uses throwaway ones. */
const PLACEHOLDER_SECRETS = Object.freeze({ secretKey: 'doctor'.repeat(8), encryptionKey: Buffer.alloc(32) })

type Report = (ok: boolean, title: string, detail: string) => void

/**
 * `parley doctor`: checks each piece an operator configures and says in plain words what is
 * wrong and how to fix it. Every check runs even when an earlier one failed. Exit code 1 when
 * anything failed.
 */
export async function runDoctor(io: CliIo): Promise<number> {
  let failed = 0
  const report: Report = (ok, title, detail) => {
    if (!ok) failed++
    io.out.write(`${ok ? 'ok  ' : 'FAIL'}  ${title}${detail ? ` — ${detail}` : ''}\n`)
  }

  let config: Config
  try {
    config = loadConfig({
      ...(io.env ? { env: io.env } : {}),
      overrides: { log: { level: 'silent' }, database: { connect_timeout_ms: DOCTOR_DB_TIMEOUT_MS } },
    })
    report(true, 'Configuration', config.file ? `read ${config.file}` : 'no config file; defaults and environment')
  } catch (error) {
    report(false, 'Configuration', messageOf(error))
    return 1
  }

  checkDataDir(config, report)
  checkSecrets(config, report)
  checkUpstreamAddresses(config, report)
  await checkPlugins(config, report)
  await checkRedis(config, report)
  await checkDatabaseAndPlugins(config, report)
  await checkEventLoop(report)

  io.out.write(failed === 0 ? '\nEverything checked is fine.\n' : `\n${failed} problem(s) found.\n`)
  return failed === 0 ? 0 : 1
}

function checkDataDir(config: Config, report: Report): void {
  // The closest existing ancestor decides whether Parley could create and use the directory.
  let dir = config.data_dir
  while (!existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir)
  try {
    accessSync(dir, constants.W_OK)
    report(
      true,
      'Data directory',
      existsSync(config.data_dir)
        ? `${config.data_dir} is writable`
        : `${config.data_dir} will be created at first start`,
    )
  } catch (error) {
    report(
      false,
      'Data directory',
      `${dir} is not writable (${(error as NodeJS.ErrnoException).code}); fix its permissions or set DATA_DIR`,
    )
  }
}

function checkSecrets(config: Config, report: Report): void {
  const missing = [
    config.secrets.secret_key ? null : 'SECRET_KEY',
    config.secrets.encryption_key ? null : 'ENCRYPTION_KEY',
  ].filter(Boolean)
  const stored = path.join(config.data_dir, 'secrets.json')
  if (missing.length === 0) report(true, 'Secrets', 'SECRET_KEY and ENCRYPTION_KEY are set')
  else if (config.env === 'production')
    report(
      false,
      'Secrets',
      `${missing.join(' and ')} missing; production refuses to start (generate with: openssl rand -hex 32)`,
    )
  else
    report(
      true,
      'Secrets',
      `${missing.join(' and ')} not set; ${existsSync(stored) ? `using ${stored}` : `generated into ${stored} at first start`} (set them for production)`,
    )
}

function checkUpstreamAddresses(config: Config, report: Report): void {
  if (config.upstream.allow_loopback) {
    const source = config.sources['upstream.allow_loopback'] ?? 'config'
    report(
      true,
      'Upstream addresses',
      `loopback upstreams are admitted (upstream.allow_loopback, from ${source}): channels may point at servers on this host; link-local and metadata addresses stay refused`,
    )
  } else {
    report(
      true,
      'Upstream addresses',
      'loopback upstreams are refused; a model server on this host needs UPSTREAM_ALLOW_LOOPBACK=1',
    )
  }
}

async function checkPlugins(config: Config, report: Report): Promise<void> {
  try {
    const plugins = resolvePlugins(await importPlugins(config.plugins, config.file), CORE_VERSION)
    report(
      true,
      'Plugins',
      plugins.map(p => `${p.definition.id}@${p.definition.version}`).join(', ') || 'none configured',
    )
  } catch (error) {
    report(false, 'Plugins', messageOf(error))
  }
}

async function checkRedis(config: Config, report: Report): Promise<void> {
  if (!config.redis.url) {
    report(true, 'Redis', 'not configured; limits, caches and jobs stay in this process (single instance only)')
    return
  }
  const where = redactCredentials(config.redis.url)
  const kv = await createKeyValueStore({
    redisUrl: config.redis.url,
    prefix: config.redis.prefix,
    logger: createLogger({ log: { level: 'silent' } }),
  })
  try {
    await kv.ping()
    report(true, 'Redis', `${where} answers`)
  } catch (error) {
    report(false, 'Redis', `${where} does not answer: ${messageOf(error)}; shared limits and BullMQ jobs need it`)
  } finally {
    await kv.close().catch(() => undefined)
  }
}

/**
 * Sets the gateway up as `start` would (every plugin's setup, so a setup failure shows here),
 * asks the database and runs the plugins' own checks. Before the first start there is no SQLite
 * file yet and doctor creates none: the setup runs on a throwaway one.
 */
async function checkDatabaseAndPlugins(config: Config, report: Report): Promise<void> {
  const where = config.database.url ? redactCredentials(config.database.url) : config.database.path
  const fresh = !config.database.url && !existsSync(config.database.path as string)
  const scratch = fresh ? mkdtempSync(path.join(tmpdir(), 'parley-doctor-')) : undefined
  let gateway: Gateway | undefined
  try {
    gateway = await createGateway({
      config: {
        ...config,
        // Redis was checked above; here it would only add reconnect noise when it is down.
        redis: { ...config.redis, url: undefined },
        ...(scratch ? { database: { ...config.database, path: path.join(scratch, 'parley.db') } } : {}),
      },
      logger: createLogger({ log: { level: 'silent' } }),
      migrate: false,
      secrets: PLACEHOLDER_SECRETS,
    })
    report(true, 'Plugin setup', `${config.plugins.length} plugin(s) set up together`)
  } catch (error) {
    const code = error instanceof ParleyError ? error.code : ''
    if (code === 'PARLEY_ERR_PLUGIN_SETUP') report(false, 'Plugin setup', messageOf(error))
    else if (!code.startsWith('PARLEY_ERR_PLUGIN'))
      report(false, code.startsWith('PARLEY_ERR_DB') ? 'Database' : 'Gateway', messageOf(error))
    // Other plugin errors (loading, ordering, options) were reported under Plugins.
    if (scratch) rmSync(scratch, { recursive: true, force: true })
    return
  }
  try {
    if (fresh) {
      report(true, 'Database', `no SQLite file yet at ${where}; start creates and migrates it`)
    } else {
      await gateway.db.ping(DOCTOR_DB_TIMEOUT_MS)
      const pending = await gateway.db.pending()
      const state =
        pending.length === 0
          ? 'schema up to date'
          : `${pending.length} migration(s) pending (applied by start or parley migrate)`
      report(true, 'Database', `${gateway.db.dialect} at ${where} answers; ${state}`)
    }
    for (const { key, item, owner } of gateway.registries.doctor.list()) {
      await item.run().then(
        note => report(true, `${item.title} (${owner})`, note ?? ''),
        error => report(false, `${item.title} (${owner})`, messageOf(error) || key),
      )
    }
  } catch (error) {
    report(false, 'Database', `${gateway.db.dialect} at ${where}: ${messageOf(error)}`)
  } finally {
    await gateway.stop().catch(() => undefined)
    if (scratch) rmSync(scratch, { recursive: true, force: true })
  }
}

/**
 * How late this host runs timers with nothing else to do. A busy or throttled host shows here
 * before it shows as slow answers; a running gateway exports the same figure on /metrics
 * (`parley_nodejs_eventloop_lag_p99_seconds`).
 */
async function checkEventLoop(report: Report): Promise<void> {
  const histogram = monitorEventLoopDelay({ resolution: 10 })
  histogram.enable()
  await new Promise(resolve => setTimeout(resolve, EVENT_LOOP_SAMPLE_MS))
  histogram.disable()
  const p99 = histogram.percentile(99) / 1e6
  const note = `p99 ${p99.toFixed(1)} ms over ${EVENT_LOOP_SAMPLE_MS} ms idle`
  report(
    true,
    'Event loop',
    p99 > EVENT_LOOP_SLOW_MS
      ? `${note}: this host is busy or throttled; answers will be slow (check CPU steal, other processes, container CPU limits)`
      : note,
  )
}

function messageOf(error: unknown): string {
  return redactCredentials(error instanceof Error ? error.message : String(error))
}
