import { errors, ParleyError } from '../errors.js'
import type { FailureKind } from '../upstream/key-health.js'
import type { UpstreamHead } from '../upstream/upstream-exchange.js'
import type { UsageStatus } from '../usage/entities.js'
import { phaseText, Stop, type Attempt } from './attempt.js'
import type { ChatEvent, UpstreamTarget } from './provider.js'
import { parseJson } from './whole-answer.js'

/*
 * How an attempt failed, and whether another key or channel may do better: classified from the
 * upstream's status or a provider's error event. Nothing of an upstream's body reaches a log line
 * or the client but scrubbed, clipped fields.
 */

/** The largest upstream error body read to explain a failure. */
const ERROR_BODY_LIMIT = 64 * 1024

/** An attempt that produced nothing for the client: maybe another key or channel can do better. */
export interface Failure {
  readonly kind: FailureKind | 'final'
  /** What the client sees if this was the last try. */
  readonly error: ParleyError
  readonly retryAfterMs?: number
  /** Kept for the log only: an upstream code or class, never a body. */
  readonly detail: string
  /** The usage row's error type when it differs from the client's (`timeout`). */
  readonly rowType?: string
}

/** A refusal or error status: read a little of its body to explain it, then classify. */
export async function upstreamFailure(
  head: UpstreamHead,
  iterator: AsyncIterator<Uint8Array>,
  attempt: Attempt,
  target: UpstreamTarget,
): Promise<Failure> {
  let text = ''
  try {
    for (;;) {
      const next = await attempt.next(iterator)
      if (next.done) break
      text += Buffer.from(next.value).toString('utf8')
      if (text.length > ERROR_BODY_LIMIT) {
        await iterator.return?.()
        break
      }
    }
  } catch {
    // The status alone decides.
  }
  attempt.release()
  const status = head.status
  const upstreamError = (parseJson(text)?.error ?? {}) as {
    message?: unknown
    type?: unknown
    code?: unknown
    param?: unknown
  }
  const field = (value: unknown, max: number) =>
    typeof value === 'string' && value !== '' ? scrub(value, target.apiKey, max) : undefined
  const code = field(upstreamError.code, 100)
  const detail = `HTTP ${status}${code ? ` ${code}` : ''}`
  if (status === 401 || status === 403) return { kind: 'auth', error: errors.PARLEY_ERR_UPSTREAM_CREDENTIALS(), detail }
  if (status === 429) {
    const retryAfterMs = retryAfterOf(head.header('retry-after'))
    const details = retryAfterMs === undefined ? undefined : { retry_after: Math.ceil(retryAfterMs / 1000) }
    return {
      kind: 'rate',
      error: errors.PARLEY_ERR_UPSTREAM_BUSY({}, details ? { details } : {}),
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      detail,
    }
  }
  if (status >= 500 || status === 408 || status < 400)
    return { kind: 'upstream', error: errors.PARLEY_ERR_UPSTREAM_FAILED({ status }), detail }
  // 400, 404, 422...: the request itself is wrong; another key would get the same answer.
  const message = field(upstreamError.message, 500) ?? `The upstream refused the request (HTTP ${status})`
  const error = errors.PARLEY_ERR_UPSTREAM_REFUSED(
    { message },
    {
      status,
      type: field(upstreamError.type, 64) ?? 'invalid_request_error',
      details: { param: field(upstreamError.param, 200) ?? null, code: code ?? null },
    },
  )
  return { kind: 'final', error, detail }
}

export function eventFailure(event: Extract<ChatEvent, { type: 'error' }>, apiKey: string): Failure {
  const status = event.status
  // A redirect is never followed, so it is the upstream's problem like a 5xx.
  const retryable =
    event.retryable ?? (status === undefined || status < 400 || status === 408 || status === 429 || status >= 500)
  const detail = scrub(`${status ?? 'no status'}${event.upstreamCode ? ` ${event.upstreamCode}` : ''}`, apiKey, 120)
  if (event.keyProblem) return { kind: 'auth', error: errors.PARLEY_ERR_UPSTREAM_CREDENTIALS(), detail }
  if (!retryable) {
    return {
      kind: 'final',
      error: errors.PARLEY_ERR_UPSTREAM_REFUSED(
        { message: scrub(event.message, apiKey) },
        { status: status !== undefined && status >= 400 && status < 500 ? status : 502, type: 'upstream_error' },
      ),
      detail,
    }
  }
  if (status === 429) return { kind: 'rate', error: errors.PARLEY_ERR_UPSTREAM_BUSY(), detail }
  return { kind: 'upstream', error: errors.PARLEY_ERR_UPSTREAM_FAILED({ status: status ?? 502 }), detail }
}

/** An upstream event past the SSE limit (`SseSplitter`): the attempt ends with this error. */
export function tooLarge(error: unknown): error is ParleyError {
  return error instanceof ParleyError && error.code === 'PARLEY_ERR_UPSTREAM_EVENT_TOO_LARGE'
}

export function retryAfterOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds, 3600) * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, Math.min(date - Date.now(), 3_600_000))
}

/** Never echo a key, even if an upstream quotes it back in an error. */
export function scrub(message: string, key: string, max = 500): string {
  const clipped = message.length > max ? message.slice(0, max) : message
  return key.length >= 8 ? clipped.split(key).join('***') : clipped
}

export function describe(error: unknown): string {
  const { name, code } = (error ?? {}) as { name?: unknown; code?: unknown }
  return `${typeof name === 'string' ? name : 'Error'}${typeof code === 'string' ? ` (${code})` : ''}`
}

/** How a stream under way ended other than whole: the usage row's status and type, and what the client is told. */
export interface Ending {
  readonly status: UsageStatus
  readonly rowType: string
  /** The terminal error event; none for a client that left. */
  readonly tell?: { readonly type: string; readonly message: string; readonly code?: string }
}

/** `broken`: what the client is told when the upstream broke off (a thrown error, not a stop). */
export function endingOf(outcome: unknown, broken: string): Ending {
  if (tooLarge(outcome))
    return {
      status: 'error',
      rowType: outcome.type,
      tell: { type: outcome.type, message: outcome.message, code: outcome.code },
    }
  if (outcome instanceof Stop) {
    if (outcome.reason === 'client') return { status: 'aborted', rowType: 'client_closed' }
    if (outcome.reason === 'shutdown') {
      const closing = errors.PARLEY_ERR_HTTP_SHUTTING_DOWN()
      return {
        status: 'error',
        rowType: 'shutdown',
        tell: { type: closing.type, message: closing.message, code: closing.code },
      }
    }
    return {
      status: 'error',
      rowType: 'timeout',
      tell: { type: 'timeout', message: `The upstream ${phaseText(outcome.reason)}` },
    }
  }
  return { status: 'error', rowType: 'upstream_error', tell: { type: 'upstream_error', message: broken } }
}
