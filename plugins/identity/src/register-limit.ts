import type { KeyValueStore, Logger } from '@parley/core'
import { networkOf } from './addresses.js'
import { identityErrors } from './errors.js'

const WINDOW_MS = 3_600_000
/** Bounds the local fallback's memory; the oldest window is dropped first. */
const LOCAL_MAX = 10_000

/**
 * Accounts registered per address (an IPv6 client by its /64) per hour, counted in the KV store
 * so all instances share the count. Should the store fail (Redis down or past its deadline),
 * each instance counts on its own until it answers again: registration stays open and still
 * throttled, per instance.
 */
export class RegistrationLimit {
  readonly #local = new Map<string, { count: number; resetAt: number }>()
  #degraded = false

  constructor(
    private readonly kv: KeyValueStore,
    private readonly log: Logger,
  ) {}

  /** Counts one registration from `ip`; refuses with 429 when it would exceed `perHour` (0: no limit). */
  async take(ip: string, perHour: number): Promise<void> {
    if (perHour <= 0) return
    const key = `identity:register:${networkOf(ip)}`
    let value: number
    let ttlMs: number
    try {
      ;({ value, ttlMs } = await this.kv.increment(key, { ttlMs: WINDOW_MS }))
      if (this.#degraded) {
        this.#degraded = false
        this.log.info('registration counts are shared by all instances again')
      }
    } catch (error) {
      if (!this.#degraded) {
        this.#degraded = true
        this.log.warn({ err: error }, 'registration counts are per instance now: the key-value store does not answer')
      }
      ;({ value, ttlMs } = this.localIncrement(key))
    }
    if (value > perHour) {
      // Refused attempts do not count: the address gets its next account when the hour ends.
      if (this.#degraded) this.localIncrement(key, -1)
      else await this.kv.increment(key, { by: -1, ttlMs: WINDOW_MS }).catch(() => undefined)
      const retryAfter = Math.max(1, Math.ceil(ttlMs / 1000))
      throw identityErrors.PARLEY_ERR_IDENTITY_REGISTER_THROTTLED(
        { limit: perHour, seconds: retryAfter },
        { details: { retry_after: retryAfter } },
      )
    }
  }

  /** Gives back a count taken for an account that was not created after all (a unique-index race). */
  async giveBack(ip: string, perHour: number): Promise<void> {
    if (perHour <= 0) return
    const key = `identity:register:${networkOf(ip)}`
    if (this.#degraded) this.localIncrement(key, -1)
    else await this.kv.increment(key, { by: -1, ttlMs: WINDOW_MS }).catch(() => undefined)
  }

  private localIncrement(key: string, by = 1): { value: number; ttlMs: number } {
    const now = Date.now()
    let entry = this.#local.get(key)
    if (!entry || entry.resetAt <= now) {
      if (this.#local.size >= LOCAL_MAX) this.#local.delete(this.#local.keys().next().value as string)
      entry = { count: 0, resetAt: now + WINDOW_MS }
      this.#local.set(key, entry)
    }
    entry.count += by
    return { value: entry.count, ttlMs: entry.resetAt - now }
  }
}
