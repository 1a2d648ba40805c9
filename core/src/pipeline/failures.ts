import { errors, ParleyError } from '../errors.js'
import { languageOf, type Language } from '../i18n.js'
import type { FailureKind } from '../upstream/key-health.js'
import type { UpstreamHead } from '../upstream/upstream-exchange.js'
import type { UsageStatus } from '../usage/entities.js'
import { phaseText, Stop, type AbortReason, type Attempt } from './attempt.js'
import type { ChatEvent, UpstreamTarget } from './provider.js'
import { parseJson } from './whole-answer.js'

/*
 * How an attempt failed, and whether another key or channel may do better: classified from the
 * upstream's status or a provider's error event. Nothing of an upstream's body reaches a log line
 * or the client but scrubbed, clipped fields.
 */

/** The largest upstream error body read to explain a failure. */
const ERROR_BODY_LIMIT = 64 * 1024

/**
 * The usage row's `error_type` of each failure class (docs/usage.md "Error types"): the client
 * reads the catalogue's message for it, the log and the row say which class it was.
 */
export const FAILURE_TYPES = {
  /** 401/403, or a provider's key problem: the channel's key was refused. */
  auth: 'upstream_auth',
  /** 429: the upstream's own rate limit. */
  rate: 'upstream_rate_limit',
  /** 5xx, 408, an unexpected status: the upstream is unwell. */
  server: 'upstream_server_error',
  /** The first byte or the next one did not come in time. */
  timeout: 'timeout',
  /** No connection: refused, unresolvable, a forbidden address, the connect timeout. */
  connect: 'upstream_connect',
  /** Another 4xx: the request itself was refused; no other key would do better. */
  badRequest: 'upstream_bad_request',
} as const

/** An attempt that produced nothing for the client: maybe another key or channel can do better. */
export interface Failure {
  readonly kind: FailureKind | 'final'
  /** What the client sees if this was the last try. */
  readonly error: ParleyError
  readonly retryAfterMs?: number
  /** Kept for the log only: an upstream code or class, never a body. */
  readonly detail: string
  /** The usage row's error type (one of `FAILURE_TYPES`, or the error's type). */
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
  if (status === 401 || status === 403)
    return { kind: 'auth', error: errors.PARLEY_ERR_UPSTREAM_CREDENTIALS(), detail, rowType: FAILURE_TYPES.auth }
  if (status === 429) {
    const retryAfterMs = retryAfterOf(head.header('retry-after'))
    const details = retryAfterMs === undefined ? undefined : { retry_after: Math.ceil(retryAfterMs / 1000) }
    return {
      kind: 'rate',
      error: errors.PARLEY_ERR_UPSTREAM_BUSY({}, details ? { details } : {}),
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      detail,
      rowType: FAILURE_TYPES.rate,
    }
  }
  if (status >= 500 || status === 408 || status < 400)
    return {
      kind: 'upstream',
      error: errors.PARLEY_ERR_UPSTREAM_FAILED({ status }),
      detail,
      rowType: FAILURE_TYPES.server,
    }
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
  return { kind: 'final', error, detail, rowType: FAILURE_TYPES.badRequest }
}

export function eventFailure(event: Extract<ChatEvent, { type: 'error' }>, apiKey: string): Failure {
  const status = event.status
  // A redirect is never followed, so it is the upstream's problem like a 5xx.
  const retryable =
    event.retryable ?? (status === undefined || status < 400 || status === 408 || status === 429 || status >= 500)
  const detail = scrub(`${status ?? 'no status'}${event.upstreamCode ? ` ${event.upstreamCode}` : ''}`, apiKey, 120)
  if (event.keyProblem)
    return { kind: 'auth', error: errors.PARLEY_ERR_UPSTREAM_CREDENTIALS(), detail, rowType: FAILURE_TYPES.auth }
  if (!retryable) {
    return {
      kind: 'final',
      error: errors.PARLEY_ERR_UPSTREAM_REFUSED(
        { message: scrub(event.message, apiKey) },
        { status: status !== undefined && status >= 400 && status < 500 ? status : 502, type: 'upstream_error' },
      ),
      detail,
      // A provider's refusal without a 4xx is its own failure, not the request's.
      rowType: status !== undefined && status >= 400 && status < 500 ? FAILURE_TYPES.badRequest : FAILURE_TYPES.server,
    }
  }
  if (status === 429)
    return { kind: 'rate', error: errors.PARLEY_ERR_UPSTREAM_BUSY(), detail, rowType: FAILURE_TYPES.rate }
  return {
    kind: 'upstream',
    error: errors.PARLEY_ERR_UPSTREAM_FAILED({ status: status ?? 502 }),
    detail,
    rowType: FAILURE_TYPES.server,
  }
}

/** Error codes of a connection that was never made (Node's and undici's). */
const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'PARLEY_ERR_UPSTREAM_CONNECT_FORBIDDEN',
])

/**
 * A provider or the exchange threw before any answer: no connection (`connect`), or one that
 * broke before the head (a server problem).
 */
export function thrownFailure(error: unknown): Failure {
  const code = (error as { code?: unknown; cause?: { code?: unknown } } | undefined)?.code
  const causeCode = (error as { cause?: { code?: unknown } } | undefined)?.cause?.code
  const connect =
    (typeof code === 'string' && CONNECT_CODES.has(code)) ||
    (typeof causeCode === 'string' && CONNECT_CODES.has(causeCode))
  return connect
    ? {
        kind: 'upstream',
        error: errors.PARLEY_ERR_UPSTREAM_UNREACHABLE(),
        detail: describe(error),
        rowType: FAILURE_TYPES.connect,
      }
    : {
        kind: 'upstream',
        error: errors.PARLEY_ERR_UPSTREAM_CONNECTION_LOST(),
        detail: describe(error),
        rowType: FAILURE_TYPES.server,
      }
}

/** The catalogue's timeout error, its Chinese message naming the phase in Chinese too. */
export function timeoutError(reason: AbortReason): ParleyError {
  const error = errors.PARLEY_ERR_UPSTREAM_TIMEOUT({ phase: phaseText(reason) })
  return new ParleyError(error.code, error.statusCode, error.type, error.message, {
    messageZh: `上游${PHASE_ZH[reason]}`,
  })
}

const PHASE_ZH: Readonly<Record<AbortReason, string>> = {
  first_byte: '未能按时开始回答',
  idle: '在回答途中停止发送',
  total: '用时超过了调用的最长时限',
  client: '调用已被客户端取消',
  shutdown: '调用被中断：服务器正在关闭',
}

/** The language of a call's caller, worked out only when a stream has to tell them of an error. */
export function callerLanguage(
  headers: { readonly 'accept-language'?: string | string[] | undefined } | undefined,
): Language {
  // A plugin's stand-in request may have no headers: English then.
  return languageOf(headers?.['accept-language'])
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

/** How a stream under way ended other than whole; its message in the caller's `language`. */
export function endingOf(outcome: unknown, language: Language): Ending {
  if (tooLarge(outcome))
    return {
      status: 'error',
      rowType: outcome.type,
      tell: { type: outcome.type, message: outcome.localized(language), code: outcome.code },
    }
  if (outcome instanceof Stop) {
    if (outcome.reason === 'client') return { status: 'aborted', rowType: 'client_closed' }
    if (outcome.reason === 'shutdown') {
      const closing = errors.PARLEY_ERR_HTTP_SHUTTING_DOWN()
      return {
        status: 'error',
        rowType: 'shutdown',
        tell: { type: closing.type, message: closing.localized(language), code: closing.code },
      }
    }
    return {
      status: 'error',
      rowType: 'timeout',
      tell: { type: 'timeout', message: timeoutError(outcome.reason).localized(language) },
    }
  }
  const broken = errors.PARLEY_ERR_UPSTREAM_BROKE_OFF()
  return {
    status: 'error',
    rowType: 'upstream_error',
    tell: { type: 'upstream_error', message: broken.localized(language) },
  }
}
