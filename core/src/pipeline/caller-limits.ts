import type { FastifyReply } from 'fastify'
import { errors, ParleyError } from '../errors.js'
import type { Registry } from '../kernel/registry.js'
import { andThen, type MaybePromise } from '../maybe.js'
import type { Call } from './call.js'
import { firstRefusal, type LimitAllowance, type LimitPolicy, type LimitRefusal } from './limits.js'

/**
 * Asks every limit policy about the caller; the first refusal is the answer (thrown, with the
 * rate-limit headers). A promise only when a policy had to wait (a shared counter); in-memory
 * limits cost none. Allowed, the tightest allowance's headers go on the answer.
 */
export function checkCaller(limits: Registry<LimitPolicy>, call: Call): MaybePromise<void> {
  let tightest: LimitAllowance | undefined
  const refusal = firstRefusal(
    limits.items(),
    { kind: 'caller', principal: call.principal, request: call.request },
    decision => {
      if (
        decision.remaining !== undefined &&
        (tightest?.remaining === undefined || decision.remaining < tightest.remaining)
      )
        tightest = decision
    },
  )
  return andThen(refusal, refused => {
    if (refused) {
      rateHeaders(call.reply, refused.limit, 0, refused.retryAfterMs)
      const details = { retry_after: retryAfterSeconds(refused) }
      if (refused.message === undefined) throw errors.PARLEY_ERR_LIMIT_EXCEEDED({ reason: refused.reason }, { details })
      throw new ParleyError('PARLEY_ERR_LIMIT_EXCEEDED', 429, 'rate_limit_exceeded', refused.message, { details })
    }
    if (tightest?.limit !== undefined)
      rateHeaders(call.reply, tightest.limit, tightest.remaining ?? 0, tightest.resetMs ?? 0)
  })
}

/** A channel's own limit, asked before each of its attempts. */
export function checkChannel(
  limits: Registry<LimitPolicy>,
  channelId: number,
  rpm: number,
): MaybePromise<LimitRefusal | undefined> {
  return firstRefusal(limits.items(), { kind: 'channel', channelId: String(channelId), rpm })
}

/** Every channel that serves the model refused: the soonest retry is the client's. */
export function channelsBusy(refusal: LimitRefusal): ParleyError {
  return errors.PARLEY_ERR_LIMIT_CHANNELS_BUSY({}, { details: { retry_after: retryAfterSeconds(refusal) } })
}

function retryAfterSeconds(refusal: LimitRefusal): number {
  return Math.max(1, Math.ceil(refusal.retryAfterMs / 1000))
}

function rateHeaders(reply: FastifyReply, limit: number, remaining: number, resetMs: number): void {
  void reply.header('x-ratelimit-limit', String(limit))
  void reply.header('x-ratelimit-remaining', String(Math.max(0, remaining)))
  void reply.header('x-ratelimit-reset', String(Math.max(0, Math.ceil(resetMs / 1000))))
}
