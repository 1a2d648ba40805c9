import { createHash, randomBytes } from 'node:crypto'
import type { AuthStrategy, FastifyRequest, KeyValueStore, Principal } from '@parley/core'
import { widgetErrors } from './errors.js'
import { kvGuard } from './kv-guard.js'

/** Session tokens: `pws_` and 43 base64url characters; only their SHA-256 is a KV key. */
const TOKEN_PREFIX = 'pws_'
const TOKEN = /^pws_[A-Za-z0-9_-]{43}$/

export type WidgetPrincipal = Extract<Principal, { kind: 'widget_user' }>

/** One external user's session with one widget client, as kept in the KV store. */
export interface WidgetSession {
  readonly clientId: string
  readonly externalUserId: string
  readonly displayName: string | null
}

/**
 * Short-lived session tokens in the KV store (Redis when configured), so every instance accepts
 * a token any instance issued; they expire on their own.
 */
export class WidgetSessions {
  constructor(
    private readonly kv: KeyValueStore,
    private readonly ttlSeconds: number,
    /** The group a widget user's calls are routed and limited as. */
    private readonly group: string,
  ) {}

  async create(session: WidgetSession): Promise<{ session_token: string; expires_in: number }> {
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url')
    const value = JSON.stringify({ c: session.clientId, u: session.externalUserId, n: session.displayName })
    await kvGuard(this.kv.set(keyOf(token), value, { ttlMs: this.ttlSeconds * 1000 }))
    return { session_token: token, expires_in: this.ttlSeconds }
  }

  /** The session of `Authorization: Bearer pws_…`; undefined without one; a 401 for an unknown or expired one. */
  async fromRequest(request: FastifyRequest): Promise<(WidgetSession & { principal: WidgetPrincipal }) | undefined> {
    const token = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1]
    if (token === undefined || !token.startsWith(TOKEN_PREFIX)) return undefined
    if (!TOKEN.test(token)) throw widgetErrors.PARLEY_ERR_WIDGET_SESSION()
    const stored = await kvGuard(this.kv.get(keyOf(token)))
    if (stored === null) throw widgetErrors.PARLEY_ERR_WIDGET_SESSION()
    const { c, u, n } = JSON.parse(stored) as { c: string; u: string; n: string | null }
    const principal: WidgetPrincipal = { kind: 'widget_user', clientId: c, externalId: u, group: this.group }
    return { clientId: c, externalUserId: u, displayName: n, principal }
  }

  /** The auth strategy: a widget session token becomes the `widget_user` principal. */
  readonly strategy: AuthStrategy = {
    // Not a widget token: answered at once, so other callers pay no promise for this strategy.
    authenticate: request =>
      request.headers.authorization?.startsWith(`Bearer ${TOKEN_PREFIX}`)
        ? this.fromRequest(request).then(session => session?.principal)
        : undefined,
  }
}

function keyOf(token: string): string {
  return `widget:session:${createHash('sha256').update(token).digest('hex')}`
}
