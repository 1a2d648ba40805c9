import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { loadConfig } from '../config/load.js'
import { createGateway, type Gateway } from '../kernel/gateway.js'
import type { AnyPluginDefinition, PluginEntry } from '../kernel/plugin.js'
import { createLogger } from '../log.js'
import type { Logger } from '../logger.js'
import { createTempMysqlDatabase, type TempDatabase } from './mysql.js'

export interface TestGatewayOptions {
  readonly plugins?: ReadonlyArray<AnyPluginDefinition | PluginEntry>
  /**
   * Config overrides (nested, snake_case), applied over test defaults. Those admit loopback
   * upstreams (`upstream.allow_loopback`), where mock upstreams listen, unless `env` sets
   * UPSTREAM_ALLOW_LOOPBACK; `{ upstream: { allow_loopback: false } }` shows the production
   * SSRF policy refusing them.
   */
  readonly config?: Record<string, unknown>
  /** A MySQL server URL: the gateway gets a fresh database on it, dropped on close. */
  readonly mysqlUrl?: string
  /** A Redis URL: KV and jobs use it under a fresh prefix. */
  readonly redisUrl?: string
  /** Listen on 127.0.0.1 with a random port (for streaming over a real socket). */
  readonly listen?: boolean
  /** Skip `start()` (to test start-up itself). */
  readonly start?: boolean
  readonly logger?: Logger
  /** Environment the config loader reads; empty by default so the developer's shell never leaks in. */
  readonly env?: Record<string, string>
  /**
   * Another instance of the same deployment: its database, Redis prefix and secrets are shared
   * (N instances behind a load balancer). The owner's `close()` removes the shared data, so
   * close this one first.
   */
  readonly sharedWith?: TestGateway
}

export interface TestGateway extends Gateway {
  /** `http://127.0.0.1:<port>` when `listen` was set. */
  readonly url: string | undefined
  readonly dataDir: string
  /** Stops the gateway and removes its temporary data (and database). */
  close(): Promise<void>
}

/**
 * Boots a real gateway on a temporary SQLite file (or a fresh MySQL database), memory KV and
 * in-process jobs unless Redis is given. Logs are silent unless PARLEY_TEST_LOG names a level.
 *
 * @example
 * const gateway = await createTestGateway({ plugins: [myPlugin] })
 * t.teardown(gateway.close)
 * const response = await gateway.inject({ method: 'GET', url: '/api/things' })
 */
export async function createTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'parley-test-'))
  const redisPrefix = `parley-test-${randomBytes(4).toString('hex')}:`
  let temp: TempDatabase | undefined
  const shared = options.sharedWith?.config
  try {
    if (options.mysqlUrl && !shared) temp = await createTempMysqlDatabase(options.mysqlUrl)
    const config = loadConfig({
      file: false,
      env: options.env ?? {},
      cwd: dataDir,
      overrides: merge(
        {
          env: 'test',
          data_dir: dataDir,
          log: { level: process.env.PARLEY_TEST_LOG ?? 'silent' },
          server: { host: '127.0.0.1', port: 0, shutdown_timeout_ms: 2000 },
          secrets: shared
            ? { secret_key: shared.secrets.secret_key, encryption_key: shared.secrets.encryption_key }
            : { secret_key: randomBytes(32).toString('hex'), encryption_key: randomBytes(32).toString('hex') },
          database: shared
            ? shared.database.url
              ? { url: shared.database.url }
              : { path: shared.database.path }
            : temp
              ? { url: temp.url, connect_timeout_ms: 5000 }
              : {},
          redis: shared?.redis.url
            ? { url: shared.redis.url, prefix: shared.redis.prefix }
            : options.redisUrl
              ? { url: options.redisUrl, prefix: redisPrefix }
              : {},
          // Mock upstreams listen on 127.0.0.1; a test that sets the variable decides itself.
          upstream: options.env?.UPSTREAM_ALLOW_LOOPBACK === undefined ? { allow_loopback: true } : {},
        },
        options.config ?? {},
      ),
    })
    const gateway = await createGateway({
      config,
      plugins: options.plugins,
      logger: options.logger ?? createLogger(config),
    })
    let url: string | undefined
    try {
      if (options.listen) url = await gateway.listen({ port: 0, host: '127.0.0.1' })
      else if (options.start !== false) await gateway.start()
    } catch (error) {
      await gateway.stop().catch(() => undefined)
      throw error
    }
    let closing: Promise<void> | undefined
    const close = () =>
      (closing ??= (async () => {
        try {
          await gateway.stop()
        } finally {
          await temp?.drop().catch(() => undefined)
          if (options.redisUrl && !shared) await deleteRedisKeys(options.redisUrl, redisPrefix).catch(() => undefined)
          rmSync(dataDir, { recursive: true, force: true })
        }
      })())
    return Object.assign(Object.create(gateway) as Gateway, {
      url,
      dataDir,
      close,
      inject: gateway.inject,
    }) as TestGateway
  } catch (error) {
    await temp?.drop().catch(() => undefined)
    rmSync(dataDir, { recursive: true, force: true })
    throw error
  }
}

function merge(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(extra)) {
    const existing = out[key]
    out[key] =
      typeof value === 'object' &&
      value !== null &&
      !Array.isArray(value) &&
      typeof existing === 'object' &&
      existing !== null &&
      !Array.isArray(existing)
        ? merge(existing as Record<string, unknown>, value as Record<string, unknown>)
        : value
  }
  return out
}

/** Removes what a test gateway (or a bench) left in Redis (KV keys, BullMQ queues) under its own prefix. */
export async function deleteRedisKeys(url: string, prefix: string): Promise<void> {
  const { Redis } = await import('ioredis')
  const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true })
  try {
    await redis.connect()
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500)
      if (keys.length > 0) await redis.del(...keys)
      cursor = next
    } while (cursor !== '0')
  } finally {
    redis.disconnect()
  }
}
