import type { Logger } from '../logger.js'
import type { KeyValueStore } from './port.js'
import { assertStep, assertTtl } from './checks.js'

/** How often expired entries nobody reads again are dropped, so memory does not grow forever. */
const SWEEP_INTERVAL_MS = 30_000

export interface MemoryKeyValueStoreOptions {
  /**
   * Accepted for symmetry with Redis. A memory store is private to its instance, so there is
   * nothing to share or collide with and the prefix changes nothing.
   */
  readonly prefix?: string
  /** Receives errors thrown by subscribers; without it they become process warnings. */
  readonly logger?: Logger
}

interface Entry {
  /** A string or counter; a list (`append`) holds its items. */
  value: string | string[]
  /** `performance.now()` time after which the entry is gone; undefined keeps it forever. */
  expiresAt: number | undefined
}

/** A distinct object per subscribe() call, so one function subscribed twice is two subscriptions. */
interface Subscription {
  readonly handler: (message: string) => void
}

/**
 * The zero-dependency driver for one process. It mirrors Redis semantics (string values,
 * integer counters, asynchronous message delivery) so code tested against it behaves the same
 * when an operator switches to Redis.
 */
export class MemoryKeyValueStore implements KeyValueStore {
  readonly kind = 'memory' as const
  readonly #entries = new Map<string, Entry>()
  readonly #channels = new Map<string, Set<Subscription>>()
  readonly #logger: Logger | undefined
  readonly #sweeper: NodeJS.Timeout
  #closed = false

  constructor(options: MemoryKeyValueStoreOptions = {}) {
    this.#logger = options.logger
    // unref: a forgotten store must not keep the process alive.
    this.#sweeper = setInterval(() => this.#sweep(), SWEEP_INTERVAL_MS).unref()
  }

  async get(key: string): Promise<string | null> {
    this.#assertOpen()
    const value = this.#live(key)?.value
    if (Array.isArray(value)) throw new TypeError(`key ${key} holds a list`)
    return value ?? null
  }

  async set(key: string, value: string, options: { ttlMs?: number; onlyIfAbsent?: boolean } = {}): Promise<boolean> {
    this.#assertOpen()
    if (options.ttlMs !== undefined) assertTtl(options.ttlMs)
    if (options.onlyIfAbsent && this.#live(key)) return false
    // Like Redis SET, a write without ttl also drops an earlier expiry.
    const expiresAt = options.ttlMs === undefined ? undefined : performance.now() + options.ttlMs
    this.#entries.set(key, { value, expiresAt })
    return true
  }

  async delete(key: string): Promise<boolean> {
    this.#assertOpen()
    const existed = this.#live(key) !== undefined
    this.#entries.delete(key)
    return existed
  }

  async increment(key: string, options: { by?: number; ttlMs: number }): Promise<{ value: number; ttlMs: number }> {
    this.#assertOpen()
    const by = options.by ?? 1
    assertTtl(options.ttlMs)
    assertStep(by)
    const now = performance.now()
    const entry = this.#live(key)
    if (entry && (typeof entry.value !== 'string' || !/^-?\d+$/.test(entry.value))) {
      throw new TypeError(`key ${key} does not hold an integer counter`)
    }
    const value = (entry ? Number(entry.value) : 0) + by
    // The window starts with the counter; only a counter without expiry (written by set())
    // gets one, so a stray key can never become a limit that never resets.
    const expiresAt = entry?.expiresAt ?? now + options.ttlMs
    this.#entries.set(key, { value: String(value), expiresAt })
    // floor: float noise must never report more time than the window has; a live entry has
    // at least some time left, so never 0.
    return { value, ttlMs: Math.max(1, Math.floor(expiresAt - now)) }
  }

  async append(key: string, value: string, options: { ttlMs: number }): Promise<number> {
    this.#assertOpen()
    assertTtl(options.ttlMs)
    const entry = this.#live(key)
    if (entry && !Array.isArray(entry.value)) throw new TypeError(`key ${key} does not hold a list`)
    const items = entry ? (entry.value as string[]) : []
    items.push(value)
    this.#entries.set(key, { value: items, expiresAt: performance.now() + options.ttlMs })
    return items.length
  }

  async range(key: string, from: number): Promise<string[]> {
    this.#assertOpen()
    const value = this.#live(key)?.value
    if (value === undefined) return []
    if (!Array.isArray(value)) throw new TypeError(`key ${key} does not hold a list`)
    return value.slice(Math.max(0, from))
  }

  async publish(channel: string, message: string): Promise<void> {
    this.#assertOpen()
    const subscriptions = this.#channels.get(channel)
    if (!subscriptions) return
    // Deliver later, as Redis does: a publisher never runs subscriber code in its own call
    // stack. The snapshot fixes who was subscribed when the message was sent.
    for (const subscription of [...subscriptions]) {
      setImmediate(() => {
        if (this.#closed || !this.#channels.get(channel)?.has(subscription)) return
        this.#deliver(channel, subscription, message)
      })
    }
  }

  async subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>> {
    this.#assertOpen()
    const subscription: Subscription = { handler }
    let subscriptions = this.#channels.get(channel)
    if (!subscriptions) {
      subscriptions = new Set()
      this.#channels.set(channel, subscriptions)
    }
    subscriptions.add(subscription)
    return async () => {
      const current = this.#channels.get(channel)
      if (!current?.delete(subscription)) return
      if (current.size === 0) this.#channels.delete(channel)
    }
  }

  async ping(): Promise<void> {
    this.#assertOpen()
  }

  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#sweeper)
    this.#entries.clear()
    this.#channels.clear()
  }

  /** The entry if it exists and has not expired; an expired one is removed on the way. */
  #live(key: string): Entry | undefined {
    const entry = this.#entries.get(key)
    if (!entry) return undefined
    if (entry.expiresAt !== undefined && entry.expiresAt <= performance.now()) {
      this.#entries.delete(key)
      return undefined
    }
    return entry
  }

  #sweep(): void {
    const now = performance.now()
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) this.#entries.delete(key)
    }
  }

  #deliver(channel: string, subscription: Subscription, message: string): void {
    try {
      subscription.handler(message)
    } catch (err) {
      // One faulty subscriber must neither crash the process nor starve the others.
      if (this.#logger) this.#logger.error({ err, channel }, 'key-value subscriber failed')
      else process.emitWarning(err instanceof Error ? err : String(err), 'ParleyKeyValueWarning')
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('key-value store is closed')
  }
}
