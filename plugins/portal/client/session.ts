/*
 * The signed-in session, kept in localStorage (the portal has no cookie session: the identity
 * API speaks bearer tokens), and fetch helpers that speak the API's error envelope. An expired
 * access token is refreshed once, with a single refresh in flight (refresh tokens rotate, and
 * a reused one revokes the whole sign-in).
 */

const SESSION_KEY = 'parley.session'
const CHAT_TOKEN_KEY = 'parley.chat_token'

export interface User {
  readonly id: number
  readonly email: string
  readonly username: string
  readonly role: string
  readonly group: string
}

export interface Session {
  readonly access_token: string
  readonly refresh_token: string
  readonly user: User
}

/** An answer in the `{"error": {type, message, retry_after?}}` envelope, or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly retryAfter?: number,
  ) {
    super(message)
  }
}

export function loadSession(): Session | undefined {
  try {
    const parsed = JSON.parse(localStorage.getItem(SESSION_KEY) ?? 'null') as Session | null
    return parsed && typeof parsed.access_token === 'string' && typeof parsed.refresh_token === 'string' && parsed.user
      ? parsed
      : undefined
  } catch {
    return undefined
  }
}

export function saveSession(session: Session): void {
  localStorage.setItem(
    SESSION_KEY,
    JSON.stringify({ access_token: session.access_token, refresh_token: session.refresh_token, user: session.user }),
  )
}

export function forgetSession(): void {
  localStorage.removeItem(SESSION_KEY)
  localStorage.removeItem(CHAT_TOKEN_KEY)
}

export function storedChatToken(): string | undefined {
  return localStorage.getItem(CHAT_TOKEN_KEY) ?? undefined
}

export function storeChatToken(token: string): void {
  localStorage.setItem(CHAT_TOKEN_KEY, token)
}

export async function errorOf(response: Response): Promise<ApiError> {
  let body: { error?: { type?: unknown; message?: unknown; retry_after?: unknown } } = {}
  try {
    body = (await response.json()) as typeof body
  } catch {
    // not JSON: keep the status
  }
  const header = Number(response.headers.get('retry-after'))
  const retryAfter =
    typeof body.error?.retry_after === 'number'
      ? body.error.retry_after
      : Number.isFinite(header) && header > 0
        ? header
        : undefined
  return new ApiError(
    response.status,
    typeof body.error?.type === 'string' ? body.error.type : 'http_error',
    typeof body.error?.message === 'string' ? body.error.message : `HTTP ${response.status}`,
    retryAfter,
  )
}

/** JSON request without credentials (sign-in, registration, public settings). */
export async function publicJson<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await send(path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  if (!response.ok) throw await errorOf(response)
  return (response.status === 204 ? undefined : await response.json()) as T
}

let refreshing: Promise<Session | undefined> | undefined

/**
 * Exchanges the refresh token for a new pair; undefined (and signed out) when it is no good.
 * Tabs share one session: under a Web Lock (where the browser has them), a tab that finds the
 * stored pair already replaced by another tab uses that one instead of refreshing again, since
 * presenting a rotated refresh token would revoke the whole sign-in.
 */
function refresh(session: Session): Promise<Session | undefined> {
  const run = async (): Promise<Session | undefined> => {
    const latest = loadSession()
    if (latest && latest.refresh_token !== session.refresh_token) return latest
    try {
      const fresh = await publicJson<Session>('POST', '/api/auth/refresh', { refresh_token: session.refresh_token })
      saveSession(fresh)
      return fresh
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) forgetSession()
      return undefined
    }
  }
  refreshing ??= (
    (navigator.locks ? navigator.locks.request('parley.session.refresh', run) : run()) as Promise<Session | undefined>
  ).finally(() => (refreshing = undefined))
  return refreshing
}

/** JSON request with the session's access token; a 401 refreshes the session once and retries. */
export async function sessionJson<T>(method: string, path: string, body?: unknown): Promise<T> {
  let session = loadSession()
  if (!session) throw new ApiError(401, 'session_required', 'Sign in first')
  for (let attempt = 0; ; attempt++) {
    const headers: Record<string, string> = { authorization: `Bearer ${session.access_token}` }
    if (body !== undefined) headers['content-type'] = 'application/json'
    const response = await send(path, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    if (response.status === 401 && attempt === 0) {
      const fresh = await refresh(session)
      if (fresh) {
        session = fresh
        continue
      }
    }
    if (!response.ok) throw await errorOf(response)
    return (response.status === 204 ? undefined : await response.json()) as T
  }
}

/** fetch that turns a network failure into an ApiError (status 0) and keeps AbortError as it is. */
export async function send(path: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(path, { credentials: 'same-origin', ...init })
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error
    throw new ApiError(0, 'network_error', error instanceof Error ? error.message : String(error))
  }
}
