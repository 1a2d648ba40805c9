/** Why an upstream attempt failed, as far as choosing the next key is concerned. */
export type FailureKind =
  /** 401/403: the key is refused (revoked, out of credit). */
  | 'auth'
  /** 429: the key is over its upstream quota for now. */
  | 'rate'
  /** Connect error, 5xx, timeout: the upstream is unwell, the key may be fine. */
  | 'upstream'

const AUTH_COOLDOWN_MS = 60_000
const RATE_COOLDOWN_MS = 5_000
const UPSTREAM_COOLDOWN_MS = 10_000
const MAX_COOLDOWN_MS = 10 * 60_000
/** Upstream trouble cools a key only when it repeats: one 502 is noise. */
const UPSTREAM_FAILURES_BEFORE_COOLDOWN = 3

interface KeyState {
  failures: number
  /** Auth refusals in a row: what the automatic disabling counts. */
  authFailures: number
  coolUntil: number
}

/**
 * Per-instance memory of which channel keys fail. A key that keeps failing cools down for a
 * while (longer each time, capped) and comes back by itself when the time is up; one success
 * forgets its failures. Cooling keys are tried last, never skipped outright, so a channel
 * whose every key is cooling still answers when nothing else can.
 */
export class KeyHealth {
  readonly #keys = new Map<string, KeyState>()
  readonly #rotation = new Map<number, number>()

  constructor(private readonly now: () => number = Date.now) {}

  /** Records a failure; answers the key's auth refusals in a row (0 after any other failure). */
  failure(channelId: number, keyId: number | undefined, kind: FailureKind, retryAfterMs?: number): number {
    const id = keyOf(channelId, keyId)
    const state = this.#keys.get(id) ?? { failures: 0, authFailures: 0, coolUntil: 0 }
    state.failures++
    state.authFailures = kind === 'auth' ? state.authFailures + 1 : 0
    const backoff = (base: number, over: number) =>
      Math.min(MAX_COOLDOWN_MS, base * 2 ** Math.min(20, Math.max(0, over)))
    let wait = 0
    if (kind === 'auth') wait = backoff(AUTH_COOLDOWN_MS, state.failures - 1)
    else if (kind === 'rate')
      wait = Math.min(MAX_COOLDOWN_MS, retryAfterMs ?? backoff(RATE_COOLDOWN_MS, state.failures - 1))
    else if (state.failures >= UPSTREAM_FAILURES_BEFORE_COOLDOWN)
      wait = backoff(UPSTREAM_COOLDOWN_MS, state.failures - UPSTREAM_FAILURES_BEFORE_COOLDOWN)
    if (wait > 0) state.coolUntil = this.now() + wait
    this.#keys.set(id, state)
    return state.authFailures
  }

  success(channelId: number, keyId: number | undefined): void {
    if (this.#keys.size > 0) this.#keys.delete(keyOf(channelId, keyId))
  }

  cooling(channelId: number, keyId: number | undefined): boolean {
    const state = this.#keys.get(keyOf(channelId, keyId))
    return state !== undefined && state.coolUntil > this.now()
  }

  /** The channel's keys, healthy ones first in turn (spreading load), then cooling ones by readiness. */
  order<K extends { readonly id: number }>(channelId: number, keys: readonly K[]): { ready: K[]; cooling: K[] } {
    if (keys.length === 0) return { ready: [], cooling: [] }
    const start = this.#rotation.get(channelId) ?? 0
    this.#rotation.set(channelId, (start + 1) % keys.length)
    // Nothing has failed lately (the usual case): every key is ready, in turn.
    if (this.#keys.size === 0)
      return { ready: start === 0 ? [...keys] : [...keys.slice(start), ...keys.slice(0, start)], cooling: [] }
    const ready: K[] = []
    const cooling: K[] = []
    for (let i = 0; i < keys.length; i++) {
      const key = keys[(start + i) % keys.length] as K
      ;(this.cooling(channelId, key.id) ? cooling : ready).push(key)
    }
    cooling.sort(
      (a, b) =>
        (this.#keys.get(keyOf(channelId, a.id))?.coolUntil ?? 0) -
        (this.#keys.get(keyOf(channelId, b.id))?.coolUntil ?? 0),
    )
    return { ready, cooling }
  }
}

function keyOf(channelId: number, keyId: number | undefined): string {
  return `${channelId}:${keyId ?? '-'}`
}
