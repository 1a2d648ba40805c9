import { Redis } from 'ioredis'
import type { Logger } from '../logger.js'
import type { KeyValueStore } from './port.js'
import { assertStep, assertTtl } from './checks.js'
import { redactCredentials } from '../redact.js'
import { quitRedis } from './redis-connection.js'

const DEFAULT_PREFIX = 'parley:'
/** A host that does not answer fails fast instead of hanging requests for ioredis' 10 s default. */
const CONNECT_TIMEOUT_MS = 2_000
/** Reconnect attempts back off to this delay and keep going for as long as Redis is down. */
const MAX_RECONNECT_DELAY_MS = 1_000
/**
 * Commands wait in ioredis' offline queue through one failed reconnect, so a Redis restart
 * goes unnoticed, and are rejected after the second; callers never queue forever.
 */
const MAX_RETRIES_PER_REQUEST = 1
/** A connection that is open but silent while replies are due is dead: drop and reconnect. */
const SOCKET_TIMEOUT_MS = 5_000
/** Detects a dead idle subscriber connection, which has no pending replies to time out. */
const KEEP_ALIVE_MS = 10_000
/**
 * Every command's deadline, counted from the call (an offline-queued command included): a
 * Redis that is paused, overloaded or behind a link that drops packets keeps the connection
 * open and never answers, and neither the socket timeout (which reconnects, and the command
 * is sent again) nor the retry limit bounds that. A late command rejects with "Command timed
 * out"; it may still take effect on the server when Redis wakes up.
 */
export const REDIS_COMMAND_TIMEOUT_MS = 1_500
/** /readyz must answer promptly even while ioredis is still deciding the server is gone. */
const PING_TIMEOUT_MS = 3_000

/**
 * One round trip that adds to the counter and starts its window: INCRBY creates a missing key
 * without expiry, so a negative PTTL means "just created" (or written by SET without ttl, which
 * must not become a limit that never resets). An existing expiry is never touched.
 */
const INCREMENT_SCRIPT = `
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return { value, ttl }
`

export interface RedisKeyValueStoreOptions {
  /** `redis://` or `rediss://` URL, credentials and database included. */
  readonly url: string
  /** Put before every key and channel; gateways sharing a prefix share state. */
  readonly prefix?: string
  readonly logger?: Logger
}

type ScriptedRedis = Redis & {
  // Added at runtime by defineCommand(); ioredis cannot type commands it learns late.
  parleyIncrement(key: string, by: number, ttlMs: number): Promise<[number, number]>
}

interface Subscription {
  readonly handler: (message: string) => void
}

/**
 * The driver that lets N gateway instances share counters, locks and messages. Its two
 * connections are named `parley-kv:<prefix>` and `parley-kv:<prefix>:subscriber`, so
 * `CLIENT LIST` tells which gateway owns them.
 */
export class RedisKeyValueStore implements KeyValueStore {
  readonly kind = 'redis' as const
  readonly #prefix: string
  readonly #logger: Logger | undefined
  readonly #target: string
  readonly #client: ScriptedRedis
  /** Subscribe mode forbids other commands, so messages get their own lazily opened connection. */
  #subscriber: Redis | undefined
  /** Keyed by the prefixed channel, as Redis reports it. */
  readonly #channels = new Map<string, Set<Subscription>>()
  #closed = false

  constructor(options: RedisKeyValueStoreOptions) {
    this.#prefix = options.prefix ?? DEFAULT_PREFIX
    this.#logger = options.logger
    this.#target = redactCredentials(options.url)
    const client = new Redis(options.url, {
      connectionName: connectionName(this.#prefix),
      connectTimeout: CONNECT_TIMEOUT_MS,
      retryStrategy: attempt => Math.min(attempt * 50, MAX_RECONNECT_DELAY_MS),
      maxRetriesPerRequest: MAX_RETRIES_PER_REQUEST,
      // Kept on: commands sent while connecting or during a short blip wait instead of
      // failing; MAX_RETRIES_PER_REQUEST bounds how long they wait.
      enableOfflineQueue: true,
      socketTimeout: SOCKET_TIMEOUT_MS,
      keepAlive: KEEP_ALIVE_MS,
      commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    })
    client.defineCommand('parleyIncrement', { numberOfKeys: 1, lua: INCREMENT_SCRIPT })
    this.#client = client as ScriptedRedis
    this.#watch(client, 'main')
  }

  async get(key: string): Promise<string | null> {
    this.#assertOpen()
    return this.#client.get(this.#prefix + key)
  }

  async set(key: string, value: string, options: { ttlMs?: number; onlyIfAbsent?: boolean } = {}): Promise<boolean> {
    this.#assertOpen()
    const name = this.#prefix + key
    const { ttlMs, onlyIfAbsent } = options
    if (ttlMs !== undefined) assertTtl(ttlMs)
    let reply: string | null
    if (ttlMs !== undefined && onlyIfAbsent) reply = await this.#client.set(name, value, 'PX', ttlMs, 'NX')
    else if (ttlMs !== undefined) reply = await this.#client.set(name, value, 'PX', ttlMs)
    else if (onlyIfAbsent) reply = await this.#client.set(name, value, 'NX')
    else reply = await this.#client.set(name, value)
    // NX answers nil when the key already existed.
    return reply === 'OK'
  }

  async delete(key: string): Promise<boolean> {
    this.#assertOpen()
    return (await this.#client.del(this.#prefix + key)) > 0
  }

  async increment(key: string, options: { by?: number; ttlMs: number }): Promise<{ value: number; ttlMs: number }> {
    this.#assertOpen()
    const by = options.by ?? 1
    assertTtl(options.ttlMs)
    assertStep(by)
    const [value, ttlMs] = await this.#client.parleyIncrement(this.#prefix + key, by, options.ttlMs)
    return { value, ttlMs }
  }

  async append(key: string, value: string, options: { ttlMs: number }): Promise<number> {
    this.#assertOpen()
    assertTtl(options.ttlMs)
    const name = this.#prefix + key
    // One round trip; MULTI keeps a list from ever existing without its expiry.
    const replies = await this.#client.multi().rpush(name, value).pexpire(name, options.ttlMs).exec()
    const [error, length] = replies?.[0] ?? [new Error('redis dropped the transaction')]
    if (error) throw error
    return length as number
  }

  async range(key: string, from: number): Promise<string[]> {
    this.#assertOpen()
    return this.#client.lrange(this.#prefix + key, Math.max(0, from), -1)
  }

  async publish(channel: string, message: string): Promise<void> {
    this.#assertOpen()
    await this.#client.publish(this.#prefix + channel, message)
  }

  async subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>> {
    this.#assertOpen()
    const name = this.#prefix + channel
    const subscription: Subscription = { handler }
    let subscriptions = this.#channels.get(name)
    if (!subscriptions) {
      subscriptions = new Set()
      this.#channels.set(name, subscriptions)
    }
    subscriptions.add(subscription)
    try {
      // Sent for every handler, not just the first: SUBSCRIBE is idempotent, and awaiting its
      // reply guarantees each caller that messages published from now on reach it.
      await this.#openSubscriber().subscribe(name)
    } catch (err) {
      // The handler is dropped at once; the server's UNSUBSCRIBE is not awaited, so a Redis
      // that does not answer costs the caller one command deadline, not two.
      void this.#unsubscribe(name, subscription).catch(() => undefined)
      throw err
    }
    return () => this.#unsubscribe(name, subscription)
  }

  async ping(): Promise<void> {
    this.#assertOpen()
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`redis did not answer PING within ${PING_TIMEOUT_MS} ms`)),
        PING_TIMEOUT_MS,
      )
    })
    try {
      // PING has no side effect, so abandoning a late one is safe.
      await Promise.race([this.#client.ping(), timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#channels.clear()
    const connections = this.#subscriber ? [this.#client, this.#subscriber] : [this.#client]
    await Promise.all(connections.map(quitRedis))
  }

  #openSubscriber(): Redis {
    if (this.#subscriber) return this.#subscriber
    // duplicate() keeps the options above; ioredis re-subscribes after a reconnect because
    // autoResubscribe defaults to true.
    const subscriber = this.#client.duplicate({ connectionName: `${connectionName(this.#prefix)}:subscriber` })
    this.#watch(subscriber, 'subscriber')
    subscriber.on('message', (channel: string, message: string) => this.#dispatch(channel, message))
    this.#subscriber = subscriber
    return subscriber
  }

  #dispatch(channel: string, message: string): void {
    const subscriptions = this.#channels.get(channel)
    if (!subscriptions) return
    for (const { handler } of [...subscriptions]) {
      try {
        handler(message)
      } catch (err) {
        // Thrown inside ioredis' parser it would break the connection for every subscriber.
        this.#report('error', { err, channel: channel.slice(this.#prefix.length) }, 'key-value subscriber failed')
      }
    }
  }

  async #unsubscribe(name: string, subscription: Subscription): Promise<void> {
    const subscriptions = this.#channels.get(name)
    if (!subscriptions?.delete(subscription)) return
    if (subscriptions.size > 0) return
    this.#channels.delete(name)
    if (this.#closed || !this.#subscriber) return
    try {
      await this.#subscriber.unsubscribe(name)
    } catch (err) {
      // The handler is already gone, which is what the caller asked for; a subscription left on
      // the server only delivers messages that are dropped in #dispatch.
      this.#report('warn', { err, redis: this.#target, channel: name }, 'redis unsubscribe failed')
    }
  }

  /** Logs an outage once and its end once, instead of every reconnect attempt. */
  #watch(connection: Redis, role: 'main' | 'subscriber'): void {
    let down = false
    // Without an 'error' listener, ioredis' EventEmitter would crash the process.
    connection.on('error', (err: Error) => {
      if (down) return
      down = true
      this.#report('warn', { err, redis: this.#target, connection: role }, 'redis connection failed, retrying')
    })
    connection.on('ready', () => {
      if (!down) return
      down = false
      this.#report('info', { redis: this.#target, connection: role }, 'redis connection restored')
    })
  }

  #report(level: 'info' | 'warn' | 'error', context: Record<string, unknown>, message: string): void {
    if (this.#logger) this.#logger[level](context, message)
    else if (level !== 'info')
      process.emitWarning(`${message}: ${String((context.err as Error | undefined)?.message)}`, 'ParleyKeyValueWarning')
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('key-value store is closed')
  }
}

/** CLIENT SETNAME refuses spaces and control characters, which a prefix may contain. */
function connectionName(prefix: string): string {
  return `parley-kv:${prefix.replace(/[^!-~]/g, '_')}`.replace(/:$/, '')
}
