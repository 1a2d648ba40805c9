import type { Dispatcher } from 'undici'
import { request } from 'undici'
import { PrivateKeyError, signAppJwt } from './jwt.js'
import type { OAuthApp } from './settings.js'

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer'
export const TOKEN_PATH = '/api/permission/oauth2/token'

/** An exchange is shared by every waiting call, so it has its own deadline, not one caller's. */
const EXCHANGE_TIMEOUT_MS = 15_000
const BODY_LIMIT = 64 * 1024
/** Below this, an `expires_in` can only be a duration (≈ 1980 as a UNIX time). */
const SURELY_A_TIMESTAMP = 315_360_000

export interface AccessToken {
  readonly token: string
  /** Milliseconds since the epoch. */
  readonly expiresAt: number
}

/** Why no token came; `reason` is for the log and names no secret. */
export class ExchangeError extends Error {
  constructor(
    readonly reason: string,
    /** Coze's `error_code` or `code`, when it gave one. */
    readonly code?: string,
    readonly status?: number,
  ) {
    super(reason)
  }

  /** Credentials Coze refused (wrong key, disabled app) rather than a passing trouble. */
  get refused(): boolean {
    return (
      this.status === 400 ||
      this.status === 401 ||
      this.status === 403 ||
      this.code === 'invalid_client' ||
      this.code === 'access_deny'
    )
  }
}

/**
 * One OAuth JWT exchange: `POST {base}/api/permission/oauth2/token` with a freshly signed JWT
 * as the Bearer credential. Coze answers `expires_in` as the UNIX time the token dies, not as
 * a lifetime; a small number is read as a lifetime all the same, in case a proxy rewrites it.
 */
export async function exchangeToken(
  baseUrl: string,
  app: OAuthApp,
  dispatcher: Dispatcher,
  now = Date.now(),
): Promise<AccessToken> {
  let jwt: string
  try {
    jwt = signAppJwt(app, now)
  } catch (error) {
    throw new ExchangeError(error instanceof PrivateKeyError ? error.message : 'the JWT could not be signed')
  }
  let status: number
  let text = ''
  try {
    const response = await request(`${baseUrl}${TOKEN_PATH}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ grant_type: JWT_BEARER_GRANT, duration_seconds: app.durationSeconds }),
      dispatcher,
      signal: AbortSignal.timeout(EXCHANGE_TIMEOUT_MS),
    })
    status = response.statusCode
    for await (const chunk of response.body) {
      text += Buffer.from(chunk as Uint8Array).toString('utf8')
      if (text.length > BODY_LIMIT) break
    }
  } catch (error) {
    const { name, code } = (error ?? {}) as { name?: unknown; code?: unknown }
    throw new ExchangeError(
      `the token endpoint could not be reached (${typeof code === 'string' ? code : typeof name === 'string' ? name : 'error'})`,
    )
  }
  const body = parseObject(text)
  const code =
    stringOf(body?.error_code) ??
    stringOf(body?.error) ??
    (typeof body?.code === 'number' && body.code !== 0 ? String(body.code) : undefined)
  const token = body?.access_token
  const expiresIn = body?.expires_in
  if (
    status >= 300 ||
    typeof token !== 'string' ||
    token === '' ||
    typeof expiresIn !== 'number' ||
    !Number.isFinite(expiresIn)
  ) {
    const what = status >= 300 ? `HTTP ${status}` : `HTTP ${status} without a token`
    throw new ExchangeError(
      `the token endpoint refused the exchange (${what}${code ? ` ${code.slice(0, 64)}` : ''})`,
      code,
      status,
    )
  }
  const expiresAt = expiresIn > SURELY_A_TIMESTAMP ? expiresIn * 1000 : now + expiresIn * 1000
  if (expiresAt <= now)
    throw new ExchangeError('the token endpoint answered a token that has already expired', code, status)
  return { token, expiresAt }
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}
