import type { KeyValueStore } from '@parley/core'
import { sha256 } from './api-token-format.js'
import { identityErrors } from './errors.js'

export interface ThrottlePolicy {
  readonly maxPerAccount: number
  readonly maxPerIp: number
  readonly windowSeconds: number
}

/**
 * Failed sign-in attempts counted per account and per IP in the KV store, so every instance
 * sees the same counts. Fails closed: when the counters cannot be read, sign-in answers 503
 * rather than letting a brute force through.
 */
export class Throttle {
  constructor(
    private readonly kv: KeyValueStore,
    private readonly policy: ThrottlePolicy,
  ) {}

  /** Refuses with 429 when either counter already reached its limit. */
  async check(scope: string, account: string | undefined, ip: string): Promise<void> {
    const keys = this.keys(scope, account, ip)
    let values: Array<string | null>
    try {
      values = await Promise.all(keys.map(({ key }) => this.kv.get(key)))
    } catch {
      throw identityErrors.PARLEY_ERR_IDENTITY_COUNTERS_DOWN()
    }
    for (const [index, value] of values.entries()) {
      const limit = keys[index]?.limit ?? 0
      if (value !== null && Number(value) >= limit) {
        const retryAfter = await this.retryAfter(keys[index]?.key as string)
        throw identityErrors.PARLEY_ERR_IDENTITY_THROTTLED({ seconds: retryAfter }, { details: { retry_after: retryAfter } })
      }
    }
  }

  /** Counts one failure against the account and the IP. */
  async fail(scope: string, account: string | undefined, ip: string): Promise<void> {
    try {
      await Promise.all(this.keys(scope, account, ip).map(({ key }) => this.kv.increment(key, { ttlMs: this.policy.windowSeconds * 1000 })))
    } catch {
      throw identityErrors.PARLEY_ERR_IDENTITY_COUNTERS_DOWN()
    }
  }

  /** A successful sign-in clears the account's counter (not the IP's: one good password must not reset a spray). */
  async succeed(scope: string, account: string | undefined): Promise<void> {
    if (account === undefined) return
    await this.kv.delete(this.accountKey(scope, account)).catch(() => undefined)
  }

  private keys(scope: string, account: string | undefined, ip: string): Array<{ key: string; limit: number }> {
    const keys = [{ key: `identity:throttle:${scope}:ip:${ip}`, limit: this.policy.maxPerIp }]
    if (account !== undefined) keys.push({ key: this.accountKey(scope, account), limit: this.policy.maxPerAccount })
    return keys
  }

  private accountKey(scope: string, account: string): string {
    // Hashed: a Redis key should not carry an email address.
    return `identity:throttle:${scope}:account:${sha256(account).slice(0, 32)}`
  }

  private async retryAfter(key: string): Promise<number> {
    // The counter's remaining window: incrementing by 0 reads the ttl without changing the count.
    const { ttlMs } = await this.kv.increment(key, { by: 0, ttlMs: this.policy.windowSeconds * 1000 }).catch(() => ({ ttlMs: this.policy.windowSeconds * 1000 }))
    return Math.max(1, Math.ceil(ttlMs / 1000))
  }
}
