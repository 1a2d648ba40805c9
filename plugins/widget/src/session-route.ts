import { Type, type HttpScope, type KeyValueStore } from '@parley/core'
import { addressAllowed } from './addresses.js'
import type { WidgetClients } from './clients.js'
import { widgetErrors } from './errors.js'
import { kvGuard } from './kv-guard.js'
import type { WidgetSessions } from './sessions.js'
import {
  NONCE_PATTERN,
  SIGNATURE_WINDOW_SECONDS,
  signatureBase,
  signatureMatches,
  timestampFresh,
} from './signature.js'

export const SESSION_PATH = '/api/internal/session/create'
/** A nonce is remembered for the whole window on both sides of the clock. */
const NONCE_TTL_MS = 2 * SIGNATURE_WINDOW_SECONDS * 1000
const BODY_LIMIT = 16 * 1024
const HEADERS = ['x-parley-client', 'x-parley-timestamp', 'x-parley-nonce', 'x-parley-signature'] as const
/** No control characters: the id reaches logs, KV keys and transcripts. */
const PRINTABLE = /^[^\p{Cc}\p{Cf}]+$/u

/**
 * `POST /api/internal/session/create`: the business backend, signed with its client secret
 * and calling from an allowed address, exchanges an external user id for a session token.
 * Checks, in order: headers, client (known, enabled), address, timestamp window, signature
 * (current secret, or the previous one inside its overlap), nonce (once per window), body.
 */
export function installSessionRoute(
  http: HttpScope,
  deps: { clients: WidgetClients; sessions: WidgetSessions; kv: KeyValueStore },
): void {
  // The signature covers the raw body: this scope keeps it as bytes and parses it after the checks.
  void http.register(async scope => {
    scope.removeContentTypeParser('application/json')
    scope.addContentTypeParser(
      'application/json',
      { parseAs: 'buffer', bodyLimit: BODY_LIMIT },
      (_request, body, done) => done(null, body),
    )
    scope.post(
      SESSION_PATH,
      {
        schema: {
          tags: ['widget'],
          summary: 'Exchange a signed external user id for a widget session token (docs/widget.md)',
          headers: Type.Object(Object.fromEntries(HEADERS.map(name => [name, Type.Optional(Type.String())]))),
          response: { 200: Type.Object({ session_token: Type.String(), expires_in: Type.Integer() }) },
        },
      },
      async request => {
        const [clientId, timestamp, nonce, signature] = HEADERS.map(name => {
          const value = request.headers[name]
          return typeof value === 'string' ? value : undefined
        })
        const missing = HEADERS.filter((_, index) => [clientId, timestamp, nonce, signature][index] === undefined)
        if (missing.length > 0) throw widgetErrors.PARLEY_ERR_WIDGET_SIGNATURE_HEADERS({ missing: missing.join(', ') })
        const client = await deps.clients.find(clientId as string)
        if (!client || !client.enabled) throw widgetErrors.PARLEY_ERR_WIDGET_CLIENT_UNKNOWN()
        const ip = request.parley.ip
        if (!addressAllowed(ip, client.ranges)) throw widgetErrors.PARLEY_ERR_WIDGET_IP_FORBIDDEN({ ip })
        const now = Date.now()
        if (!timestampFresh(timestamp as string, now))
          throw widgetErrors.PARLEY_ERR_WIDGET_TIMESTAMP({ window: SIGNATURE_WINDOW_SECONDS })
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
        const path = request.url.split('?')[0] as string
        const base = signatureBase(request.method, path, timestamp as string, nonce as string, body)
        const signed = client.secrets.some(
          ({ secret, until }) => until > now && signatureMatches(secret, base, signature as string),
        )
        if (!signed || !NONCE_PATTERN.test(nonce as string)) throw widgetErrors.PARLEY_ERR_WIDGET_SIGNATURE()
        const fresh = await kvGuard(
          deps.kv.set(`widget:nonce:${client.clientId}:${nonce as string}`, '1', {
            ttlMs: NONCE_TTL_MS,
            onlyIfAbsent: true,
          }),
        )
        if (!fresh) throw widgetErrors.PARLEY_ERR_WIDGET_NONCE_REPLAYED()
        const fields = parseBody(body)
        request.log.info({ widget_client: client.clientId }, 'widget session created')
        return deps.sessions.create({
          clientId: client.clientId,
          externalUserId: fields.external_user_id,
          displayName: fields.display_name ?? null,
        })
      },
    )
  })
}

function parseBody(body: Buffer): { external_user_id: string; display_name?: string } {
  let value: unknown
  try {
    value = JSON.parse(body.toString('utf8'))
  } catch {
    throw widgetErrors.PARLEY_ERR_WIDGET_BODY()
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw widgetErrors.PARLEY_ERR_WIDGET_BODY()
  const { external_user_id: id, display_name: name, ...rest } = value as Record<string, unknown>
  if (Object.keys(rest).length > 0) throw widgetErrors.PARLEY_ERR_WIDGET_BODY()
  if (typeof id !== 'string' || id.length === 0 || id.length > 128 || !PRINTABLE.test(id))
    throw widgetErrors.PARLEY_ERR_WIDGET_BODY()
  if (name !== undefined && (typeof name !== 'string' || name.length > 100 || (name !== '' && !PRINTABLE.test(name))))
    throw widgetErrors.PARLEY_ERR_WIDGET_BODY()
  return name === undefined ? { external_user_id: id } : { external_user_id: id, display_name: name }
}
