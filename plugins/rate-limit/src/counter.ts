import type { MaybePromise } from '@parley/core'
import type { RateLimiterRes } from 'rate-limiter-flexible'

/** Every limit is a fixed window of one minute (limits are requests per minute). */
export const WINDOW_SECONDS = 60

/**
 * The limiters count and never refuse by themselves: the limit is compared per call, so it can
 * follow the live settings (and a group's override) without a limiter per limit value, and a
 * change in the middle of a window applies to what was already counted in it.
 */
export const UNCAPPED = Number.MAX_SAFE_INTEGER

/** Below this the window is about to end: a refund could land in the next one and grant an extra call. */
export const REFUND_MIN_MS = 1000

/** One call counted in a key's current window. */
export interface Hit {
  /** Calls counted in the window so far, this one included. */
  readonly count: number
  /** Milliseconds until the window ends and the count starts again from zero. */
  readonly resetMs: number
  /** Takes this call back out of the count (a refused call should not use up the limit). */
  refund(): void
}

/** Counts calls per key in fixed one-minute windows: in this process (at once), or in Redis. */
export interface WindowCounter {
  hit(key: string): MaybePromise<Hit>
  start(): Promise<void>
  close(): Promise<void>
}

/** A Hit from the limiter's answer; `reward` gives the point back in the store that counted it. */
export function hitOf(res: RateLimiterRes, reward: () => Promise<unknown>): Hit {
  const resetMs = Math.min(Math.max(res.msBeforeNext, 1), WINDOW_SECONDS * 1000)
  return {
    count: res.consumedPoints,
    resetMs,
    refund: () => {
      if (resetMs > REFUND_MIN_MS) reward().catch(() => undefined)
    },
  }
}
