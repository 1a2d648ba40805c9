import { Redis } from 'ioredis'
import { RateLimiterRedis } from 'rate-limiter-flexible'
import type { Logger, MaybePromise } from '@parley/core'
import { hitOf, UNCAPPED, WINDOW_SECONDS, type Hit, type WindowCounter } from './counter.js'
import { LocalCounter } from './local-counter.js'
import type { Sample } from './metrics.js'

/** A Redis that does not answer must never hold a chat request for long. */
const CONNECT_TIMEOUT_MS = 1000
const COMMAND_TIMEOUT_MS = 500
/** Reconnects back off to this delay and go on for as long as Redis is away. */
const MAX_RECONNECT_DELAY_MS = 1000
/** While degraded, how often a connected but silent Redis is asked whether it answers again. */
const PROBE_INTERVAL_MS = 1000
/** How long start() waits for the first connection before serving with local counters. */
const START_WAIT_MS = 1500

export interface SharedCounterOptions {
  readonly url: string
  /** The gateway's Redis prefix: instances that share it share their limits. */
  readonly prefix: string
  readonly log: Logger
  readonly degraded: Sample
  readonly fallbacks: Sample
}

/**
 * Counters in Redis, so N instances enforce one limit together: rate-limiter-flexible's Lua
 * script adds and starts the window in one atomic step. When Redis fails, calls are counted
 * in this process instead (fail open: a Redis outage must not stop the chat, docs/limits.md): one loud warning per outage, the
 * `parley_rate_limit_degraded` gauge at 1, and Redis is left alone until it answers again.
 * The fallback is explicit rather than the library's `insuranceLimiter`, which falls back
 * silently per call: here the outage must be noticed, logged once and measured.
 */
export class SharedCounter implements WindowCounter {
  readonly #client: Redis
  readonly #shared: RateLimiterRedis
  readonly #local = new LocalCounter()
  readonly #options: SharedCounterOptions
  readonly #target: string
  #degraded = false
  #probe: NodeJS.Timeout | undefined
  #closed = false

  constructor(options: SharedCounterOptions) {
    this.#options = options
    this.#target = describeTarget(options.url)
    this.#client = new Redis(options.url, {
      connectionName: `parley-rate-limit:${options.prefix}`,
      lazyConnect: true,
      connectTimeout: CONNECT_TIMEOUT_MS,
      commandTimeout: COMMAND_TIMEOUT_MS,
      // Fail at once while disconnected instead of queueing: the local counter answers then.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: attempt => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
      // The counters of the calls in one event-loop turn go to Redis as one pipeline: one write
      // and one read instead of one each per counter. Pinned bench at c=64 (bench/NOTES.md):
      // 146-173 against 188 µs of CPU per JSON call, 194-226 against 305 per SSE call.
      enableAutoPipelining: true,
    })
    // Without a listener ioredis prints every failed reconnect; degrade() reports the outage once.
    this.#client.on('error', () => undefined)
    this.#client.on('close', () => this.#degrade('the connection closed'))
    this.#client.on('ready', () => this.#recover())
    this.#shared = new RateLimiterRedis({
      storeClient: this.#client,
      keyPrefix: `${options.prefix}rate-limit`,
      points: UNCAPPED,
      duration: WINDOW_SECONDS,
      rejectIfRedisNotReady: true,
    })
  }

  async start(): Promise<void> {
    await this.#local.start()
    const connected = this.#client.connect().then(
      () => true,
      () => false,
    )
    const waited = new Promise<false>(resolve => setTimeout(() => resolve(false), START_WAIT_MS).unref())
    if (!(await Promise.race([connected, waited]))) this.#degrade('it did not answer at start')
  }

  hit(key: string): MaybePromise<Hit> {
    if (this.#degraded) return this.#fallback(key)
    return this.#shared.consume(key).then(
      res => hitOf(res, () => this.#shared.reward(key)),
      (error: unknown) => {
        this.#degrade(error instanceof Error ? error.message : String(error))
        return this.#fallback(key)
      },
    )
  }

  #fallback(key: string): Hit {
    this.#options.fallbacks.inc()
    return this.#local.hit(key)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#probe)
    await this.#local.close()
    if (this.#client.status !== 'ready') {
      this.#client.disconnect()
      return
    }
    await this.#client.quit().catch(() => this.#client.disconnect())
  }

  #degrade(cause: string): void {
    if (this.#degraded || this.#closed) return
    this.#degraded = true
    this.#options.degraded.set(1)
    this.#options.log.warn(
      { redis: this.#target, cause },
      'RATE LIMITS ARE PER INSTANCE NOW: Redis is unreachable, so each instance counts on its own and allows the full limit (fail open); shared limits resume when Redis answers',
    )
    this.#probe = setInterval(() => void this.#tryRecover(), PROBE_INTERVAL_MS)
    this.#probe.unref()
  }

  /** Covers a Redis that stays connected but stopped answering: no `ready` event will come. */
  async #tryRecover(): Promise<void> {
    if (this.#client.status !== 'ready') return
    try {
      await this.#client.ping()
      this.#recover()
    } catch {
      // still silent; the next probe asks again
    }
  }

  #recover(): void {
    if (!this.#degraded || this.#closed) return
    this.#degraded = false
    clearInterval(this.#probe)
    this.#probe = undefined
    this.#options.degraded.set(0)
    this.#options.log.info(
      { redis: this.#target },
      'Redis answers again: rate limits are shared between instances again',
    )
  }
}

/** Host and port only: a Redis URL may carry a password. */
function describeTarget(url: string): string {
  try {
    const parsed = new URL(url)
    return `${parsed.protocol}//${parsed.hostname}:${parsed.port || '6379'}`
  } catch {
    return 'redis'
  }
}
