import type { KeyValueStore } from '@parley/core'
import { networkOf } from './addresses.js'
import { sha256 } from './api-token-format.js'
import { identityErrors } from './errors.js'

export interface ThrottlePolicy {
  /** Failures for one account from one address (network) within the window. */
  readonly maxPerAccountAndIp: number
  /** Failures from one address (network) across every account within the window. */
  readonly maxPerIp: number
  /** Failures for one account from every address; then only its known addresses may try. */
  readonly maxPerAccount: number
  readonly windowSeconds: number
  /** How long an address that signed in to an account is remembered as known for it. */
  readonly knownAddressDays: number
}

interface Counter {
  readonly key: string
  readonly limit: number
  /** The account-wide counter does not bind an address the account signed in from before. */
  readonly accountWide?: boolean
}

/**
 * Failed sign-in attempts counted in the KV store, so every instance sees the same counts:
 * per (account, address) pair, per address across accounts, and per account across addresses.
 * Only the pair and address counters refuse on their own: someone guessing from elsewhere can
 * lock their own address out, not the account's owner. The account-wide counter, at a much
 * higher limit, refuses only addresses that never signed in to the account (remembered for
 * `knownAddressDays`). IPv6 addresses count by /64.
 *
 * Fails closed: when the counters cannot be read or written (Redis down or stalled past the KV
 * driver's command deadline), sign-in answers 503 rather than letting a brute force through.
 */
export class Throttle {
  constructor(
    private readonly kv: KeyValueStore,
    private readonly policy: ThrottlePolicy,
  ) {}

  /** Refuses with 429 when a counter that binds this attempt reached its limit. */
  async check(scope: string, account: string | undefined, ip: string): Promise<void> {
    const counters = this.counters(scope, account, ip)
    let values: Array<string | null>
    let known = false
    try {
      ;[values, known] = await Promise.all([
        Promise.all(counters.map(({ key }) => this.kv.get(key))),
        account === undefined ? false : this.kv.get(this.knownKey(scope, account, ip)).then(value => value !== null),
      ])
    } catch {
      throw identityErrors.PARLEY_ERR_IDENTITY_COUNTERS_DOWN()
    }
    for (const [index, value] of values.entries()) {
      const counter = counters[index]
      if (!counter || value === null || Number(value) < counter.limit) continue
      if (counter.accountWide && known) continue
      const retryAfter = await this.retryAfter(counter.key)
      throw identityErrors.PARLEY_ERR_IDENTITY_THROTTLED(
        { seconds: retryAfter },
        { details: { retry_after: retryAfter } },
      )
    }
  }

  /** Counts one failure against every counter of the attempt. */
  async fail(scope: string, account: string | undefined, ip: string): Promise<void> {
    try {
      await Promise.all(
        this.counters(scope, account, ip).map(({ key }) =>
          this.kv.increment(key, { ttlMs: this.policy.windowSeconds * 1000 }),
        ),
      )
    } catch {
      throw identityErrors.PARLEY_ERR_IDENTITY_COUNTERS_DOWN()
    }
  }

  /**
   * A successful sign-in clears its pair's counter (not the address's: one good password must
   * not reset a spray; nor the account's: it is the measure of an attack on the account) and
   * remembers the address as known for the account. Best effort: a failure only costs comfort.
   */
  async succeed(scope: string, account: string | undefined, ip: string): Promise<void> {
    if (account === undefined) return
    await Promise.all([
      this.kv.delete(this.pairKey(scope, account, ip)),
      this.kv.set(this.knownKey(scope, account, ip), '1', { ttlMs: this.policy.knownAddressDays * 86_400_000 }),
    ]).catch(() => undefined)
  }

  private counters(scope: string, account: string | undefined, ip: string): Counter[] {
    const counters: Counter[] = [{ key: `identity:throttle:${scope}:ip:${networkOf(ip)}`, limit: this.policy.maxPerIp }]
    if (account !== undefined) {
      counters.push({ key: this.pairKey(scope, account, ip), limit: this.policy.maxPerAccountAndIp })
      counters.push({
        key: `identity:throttle:${scope}:account:${hashed(account)}`,
        limit: this.policy.maxPerAccount,
        accountWide: true,
      })
    }
    return counters
  }

  private pairKey(scope: string, account: string, ip: string): string {
    return `identity:throttle:${scope}:pair:${hashed(`${account}\n${networkOf(ip)}`)}`
  }

  private knownKey(scope: string, account: string, ip: string): string {
    return `identity:known:${scope}:${hashed(`${account}\n${networkOf(ip)}`)}`
  }

  private async retryAfter(key: string): Promise<number> {
    // The counter's remaining window: incrementing by 0 reads the ttl without changing the count.
    const { ttlMs } = await this.kv
      .increment(key, { by: 0, ttlMs: this.policy.windowSeconds * 1000 })
      .catch(() => ({ ttlMs: this.policy.windowSeconds * 1000 }))
    return Math.max(1, Math.ceil(ttlMs / 1000))
  }
}

/** A Redis key should not carry an email address. */
function hashed(value: string): string {
  return sha256(value).slice(0, 32)
}
