import type { ChatErrorEvent } from '@parley/core'

/**
 * Coze business codes that decide failover. Coze answers most errors with HTTP 200 and a JSON
 * body `{code, msg}`; the code, not the status, says what happened.
 */
const CREDENTIAL_CODES = new Set([
  4100, // the token is invalid or expired
  4101, // the token lacks the permission (chat, or this bot's space)
])
const RATE_CODES = new Set([
  4013, // request rate over the limit
])

export interface CozeFailure {
  /** The HTTP status, when the failure came as a response rather than a stream event. */
  readonly status?: number
  readonly code?: number
  readonly msg?: string
}

/** A Coze failure as a pipeline error event, plus whether the credential itself was refused. */
export interface MappedFailure {
  readonly event: ChatErrorEvent
  readonly credentials: boolean
}

/**
 * Maps a Coze failure for the pipeline: refused credentials fail over to the next key, rate
 * limits and server trouble are retryable, anything else concerns the request and goes to the
 * client with Coze's message (secrets cut out) and its code. The code stays in `upstreamCode`
 * for the log.
 */
export function mapFailure(failure: CozeFailure, secrets: readonly string[]): MappedFailure {
  const { status, code } = failure
  const upstreamCode = code === undefined ? undefined : String(code)
  const codes = upstreamCode ? { upstreamCode } : {}
  const said = failure.msg ? scrub(failure.msg, secrets) : undefined
  const message = (fallback: string) =>
    `${said ? `Coze: ${said}` : fallback}${upstreamCode ? ` (Coze code ${upstreamCode})` : ''}`
  if ((code !== undefined && CREDENTIAL_CODES.has(code)) || status === 401 || status === 403) {
    return {
      credentials: true,
      event: {
        type: 'error',
        status: code === 4101 || status === 403 ? 403 : 401,
        keyProblem: true,
        message: message('Coze refused the credentials'),
        ...codes,
      },
    }
  }
  if ((code !== undefined && RATE_CODES.has(code)) || status === 429) {
    return {
      credentials: false,
      event: {
        type: 'error',
        status: 429,
        retryable: true,
        message: message('Coze is rate limiting this channel'),
        ...codes,
      },
    }
  }
  if ((status !== undefined && status >= 500) || (code !== undefined && code >= 5000 && code < 6000)) {
    return {
      credentials: false,
      event: {
        type: 'error',
        status: status !== undefined && status >= 500 ? status : 502,
        retryable: true,
        message: message('Coze failed'),
        ...codes,
      },
    }
  }
  const refused = status !== undefined && status >= 400 && status < 500 ? status : 400
  return {
    credentials: false,
    event: { type: 'error', status: refused, retryable: false, message: message('Coze refused the request'), ...codes },
  }
}

/** A chat that Coze itself marked failed (`conversation.chat.failed`, an `error` event). */
export function chatFailure(
  code: number | undefined,
  msg: string | undefined,
  secrets: readonly string[],
): ChatErrorEvent {
  const mapped = mapFailure({ ...(code === undefined ? {} : { code }), ...(msg ? { msg } : {}) }, secrets).event
  // Without a status the pipeline would take it for a refusal of the request; a failed bot run is Coze's trouble.
  return mapped.retryable === false ? { ...mapped, status: 502 } : mapped
}

/** Never echo a credential, even if Coze quotes one back. */
export function scrub(text: string, secrets: readonly string[], max = 500): string {
  let out = text
  for (const secret of secrets) if (secret.length >= 8) out = out.split(secret).join('***')
  return out.length > max ? `${out.slice(0, max)}…` : out
}
