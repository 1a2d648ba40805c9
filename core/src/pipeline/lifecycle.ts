import type { Principal } from '../auth/principal.js'
import type { UsageStatus } from '../usage/entities.js'

/** What an observer learns of a call when it starts. */
export interface CallStart {
  readonly requestId: string
  readonly principal: Principal
  /** The model the client asked for. */
  readonly model: string
  readonly format: 'chat' | 'responses'
  readonly endpoint: string
  readonly stream: boolean
}

/** A piece of the answer as the client got it. */
export interface CallOutput {
  readonly type: 'text' | 'reasoning'
  readonly text: string
}

/** How a call ended, with the figures of its usage row. */
export interface CallEnd {
  /** `success`, `error` (the client got an error, maybe after part of the answer), `aborted` (the client left). */
  readonly status: UsageStatus
  /** The error type the client saw (`upstream_error`, `timeout`, `rate_limit_exceeded`, ...); null on success. */
  readonly errorType: string | null
  /** Whether any of the answer reached the client. */
  readonly produced: boolean
  readonly channelId: number | null
  readonly promptTokens: number
  readonly completionTokens: number
  readonly estimated: boolean
}

/**
 * Follows one call. Each method is optional, and `output` costs the data plane a decoding of
 * the answer only when a watch has it.
 */
export interface CallWatch {
  /** Each piece of the answer, in order, as it is sent to the client. */
  output?(piece: CallOutput): void
  /** Once, when the call ended (its usage row is written then too). */
  ended?(end: CallEnd): void
}

/**
 * A plugin's view of every call of the data plane (`ctx.calls.register(id, observer)`):
 * `started` may answer a watch for that call. With no observer registered, a call costs
 * nothing more than without this extension point.
 *
 * @example
 * ctx.calls.register('audit', {
 *   started: call => ({ ended: end => log.info({ request_id: call.requestId, status: end.status }, 'call ended') }),
 * })
 */
export interface CallObserver {
  started(call: CallStart): CallWatch | undefined
}
