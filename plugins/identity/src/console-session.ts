import type { FastifyReply, FastifyRequest } from '@parley/core'

/*
 * The admin console's session: the 24 h admin token of `POST /api/auth/admin/login`, also set
 * as an httpOnly cookie so no script on the page can read it and the server can guard the
 * console's pages before rendering them. The cookie is accepted only where cross-site requests
 * cannot use it: the console's own page loads (GET /admin…) and API calls carrying the
 * `X-Parley-Console: 1` header, which a cross-site form or image cannot send and a script
 * sends only after a CORS preflight (never granted with credentials under the default
 * `cors_origins: ["*"]`). SameSite=Strict on top: browsers attach the cookie to no
 * cross-site request at all.
 */

export const CONSOLE_COOKIE = 'parley_admin'
export const CONSOLE_HEADER = 'x-parley-console'

export function setConsoleCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  token: string,
  maxAgeSeconds: number,
): void {
  void reply.header('set-cookie', cookieLine(request, token, maxAgeSeconds))
}

export function clearConsoleCookie(request: FastifyRequest, reply: FastifyReply): void {
  void reply.header('set-cookie', cookieLine(request, '', 0))
}

/** The console cookie's token, when this request may use it; undefined otherwise. */
export function consoleCredential(request: FastifyRequest): string | undefined {
  const fromConsole = request.headers[CONSOLE_HEADER] === '1'
  const consolePage = (request.method === 'GET' || request.method === 'HEAD') && /^\/admin(?:[/?#]|$)/.test(request.url)
  if (!fromConsole && !consolePage) return undefined
  const value = cookieValue(request.headers.cookie, CONSOLE_COOKIE)
  return value === undefined || value === '' ? undefined : value
}

/** The console cookie's token whatever the request (for sign-out, which only ever ends a session). */
export function consoleCookie(request: FastifyRequest): string | undefined {
  const value = cookieValue(request.headers.cookie, CONSOLE_COOKIE)
  return value === undefined || value === '' ? undefined : value
}

function cookieLine(request: FastifyRequest, value: string, maxAgeSeconds: number): string {
  const secure = request.protocol === 'https' ? '; Secure' : ''
  return `${CONSOLE_COOKIE}=${value}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure}`
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined
  for (const part of header.split(';')) {
    const at = part.indexOf('=')
    if (at < 0 || part.slice(0, at).trim() !== name) continue
    return part.slice(at + 1).trim()
  }
  return undefined
}
