/*
 * The console's calls to the admin API. The session is the httpOnly cookie the console login
 * set; `X-Parley-Console: 1` is what lets the server accept it (a cross-site page cannot send
 * that header), so no token ever sits where a script could read it.
 */

export interface ApiFailure {
  readonly status: number
  readonly type: string
  readonly code: string
  readonly message: string
  /** The request field a validation error is about (`name`, `base_url`, …). */
  readonly field?: string
  readonly retryAfter?: number
}

export class ApiError extends Error implements ApiFailure {
  readonly status: number
  readonly type: string
  readonly code: string
  readonly field?: string
  readonly retryAfter?: number

  constructor(failure: ApiFailure) {
    super(failure.message)
    this.status = failure.status
    this.type = failure.type
    this.code = failure.code
    if (failure.field !== undefined) this.field = failure.field
    if (failure.retryAfter !== undefined) this.retryAfter = failure.retryAfter
  }
}

export interface Page<T> {
  readonly items: T[]
  readonly total: number
  readonly page: number
  readonly page_size: number
}

export const CONSOLE_HEADERS = { 'x-parley-console': '1' } as const

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {
    ...CONSOLE_HEADERS,
    accept: 'application/json',
    'accept-language': document.documentElement.lang || 'en',
  }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  if (response.status === 401 && !path.startsWith('/api/auth/admin/')) {
    // The session ended (expired, signed out elsewhere, role taken away): sign in again.
    location.assign(`/admin/login?next=${encodeURIComponent(location.pathname + location.search)}`)
    return new Promise<T>(() => undefined)
  }
  if (response.status === 204) return undefined as T
  const data = (await response.json().catch(() => ({}))) as {
    error?: { type?: string; code?: string; message?: string; field?: string; retry_after?: number }
  }
  if (!response.ok) {
    const error = data.error ?? {}
    throw new ApiError({
      status: response.status,
      type: error.type ?? 'error',
      code: error.code ?? '',
      message: error.message ?? `HTTP ${response.status}`,
      ...(typeof error.field === 'string' ? { field: error.field } : {}),
      ...(typeof error.retry_after === 'number' ? { retryAfter: error.retry_after } : {}),
    })
  }
  return data as T
}

export function query(values: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(values))
    if (value !== undefined && value !== '') params.set(key, String(value))
  const text = params.toString()
  return text ? `?${text}` : ''
}
