import type { FastifyRequest } from 'fastify'
import { isPromiseLike, type MaybePromise } from '../maybe.js'
import type { Principal } from '../auth/principal.js'

export type LimitDecision =
  | { readonly allowed: true; readonly limit?: number; readonly remaining?: number; readonly resetMs?: number }
  | {
      readonly allowed: false
      readonly limit: number
      readonly retryAfterMs: number
      /** Why, in English, for the log and for the default message `Too many requests: <reason>`. */
      readonly reason: string
      /** The whole message the caller reads, in their language (see `languageOf`), when the policy has one. */
      readonly message?: string
    }

/** What a limit policy is asked about: a caller, or a channel the router wants to use. */
export type LimitSubject =
  | { readonly kind: 'caller'; readonly principal: Principal; readonly request: FastifyRequest }
  | { readonly kind: 'channel'; readonly channelId: string; readonly rpm: number }

export type LimitRefusal = Extract<LimitDecision, { allowed: false }>
export type LimitAllowance = Extract<LimitDecision, { allowed: true }>

/**
 * Decides whether a call may go ahead. The pipeline asks every registered policy; the first
 * refusal wins and becomes a 429 with Retry-After. A policy that can decide at once (a counter
 * in memory) returns the decision itself; one that must ask a shared store returns a promise.
 */
export interface LimitPolicy {
  check(subject: LimitSubject): MaybePromise<LimitDecision>
}

/**
 * Asks `policies` about `subject` in order: the first refusal, or undefined when all allow
 * (each allowance goes to `allowed`). A promise only when some policy answered with one.
 */
export function firstRefusal(
  policies: readonly LimitPolicy[],
  subject: LimitSubject,
  allowed?: (decision: LimitAllowance) => void,
  from = 0,
): MaybePromise<LimitRefusal | undefined> {
  for (let index = from; index < policies.length; index++) {
    const decision = (policies[index] as LimitPolicy).check(subject)
    if (isPromiseLike(decision)) {
      return decision.then(settled => {
        if (!settled.allowed) return settled
        allowed?.(settled)
        return firstRefusal(policies, subject, allowed, index + 1)
      })
    }
    if (!decision.allowed) return decision
    allowed?.(decision)
  }
  return undefined
}
