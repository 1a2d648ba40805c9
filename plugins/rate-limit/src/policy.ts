import {
  andThen,
  languageOf,
  type LimitDecision,
  type LimitPolicy,
  type LimitSubject,
  type MaybePromise,
} from '@parley/core'
import { callerLimit, type CallerRates } from './callers.js'
import type { Hit, WindowCounter } from './counter.js'
import { refusalMessage } from './messages.js'
import type { Sample } from './metrics.js'

const ALLOWED: LimitDecision = Object.freeze({ allowed: true })

/**
 * Caller and channel RPM. A call is counted, then compared with the limit read
 * now; a refused call is taken back out of the count, so the count is the calls that went
 * ahead, and a limit raised in the middle of a window grants exactly the difference.
 */
export class RpmPolicy implements LimitPolicy {
  constructor(
    private readonly counter: WindowCounter,
    private readonly rates: CallerRates,
    private readonly refusals: Sample,
  ) {}

  check(subject: LimitSubject): MaybePromise<LimitDecision> {
    if (subject.kind === 'channel') {
      // Only the pipeline sees a channel refusal; the caller gets "channels busy" if none can serve.
      return this.decide(`channel:${subject.channelId}`, subject.rpm, 'channel', () => ({
        reason: `channel ${subject.channelId} is at its limit of ${subject.rpm} requests per minute`,
      }))
    }
    const caller = callerLimit(subject.principal, this.rates)
    return this.decide(caller.key, caller.rpm, caller.kind, retryAfterMs => ({
      reason: `${caller.kind} limit of ${caller.rpm} requests per minute reached`,
      message: refusalMessage(
        languageOf(subject.request.headers['accept-language']),
        caller.kind,
        caller.rpm,
        retryAfterMs,
      ),
    }))
  }

  /** At once with the counter in memory; a promise while Redis counts. */
  private decide(
    key: string,
    limit: number,
    kind: string,
    explain: (retryAfterMs: number) => { reason: string; message?: string },
  ): MaybePromise<LimitDecision> {
    if (limit <= 0) return ALLOWED
    return andThen(this.counter.hit(key), hit => this.judge(hit, limit, kind, explain))
  }

  private judge(
    hit: Hit,
    limit: number,
    kind: string,
    explain: (retryAfterMs: number) => { reason: string; message?: string },
  ): LimitDecision {
    if (hit.count <= limit) return { allowed: true, limit, remaining: limit - hit.count, resetMs: hit.resetMs }
    hit.refund()
    this.refusals.inc({ kind })
    return { allowed: false, limit, retryAfterMs: hit.resetMs, ...explain(hit.resetMs) }
  }
}
