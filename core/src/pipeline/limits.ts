import type { FastifyRequest } from 'fastify'
import type { Principal } from './principal.js'

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

/**
 * Decides whether a call may go ahead. The pipeline asks every registered policy; the first
 * refusal wins and becomes a 429 with Retry-After.
 */
export interface LimitPolicy {
  check(subject: LimitSubject): Promise<LimitDecision>
}
