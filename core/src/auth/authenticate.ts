import type { FastifyInstance, FastifyRequest } from 'fastify'
import { errors } from '../errors.js'
import { isPromiseLike, type MaybePromise } from '../maybe.js'
import type { Registry } from '../kernel/registry.js'
import type { AuthStrategy, Principal } from './principal.js'

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Who is calling, resolved once per request by the registered auth strategies: `await` it.
     * The answer itself (no promise) when every strategy asked answered at once (a cached token).
     */
    principal(): MaybePromise<Principal | undefined>
  }
}

export type Role = 'root' | 'admin' | 'user'
export type SessionUser = Extract<Principal, { kind: 'user' }>
export type TokenUser = Extract<Principal, { kind: 'api_token' }>

/** The request's principal once asked for; `NOT_ASKED` before. */
const RESOLVED = Symbol('parley.principal')
const NOT_ASKED = null
type Memo = { [RESOLVED]: MaybePromise<Principal | undefined> | typeof NOT_ASKED }

/**
 * Gives every request a lazy, memoised `principal()`: strategies run in registration order
 * only when a route asks, so public routes never pay for a token lookup.
 */
export function installAuthentication(app: FastifyInstance, strategies: Registry<AuthStrategy>): void {
  // The answer is kept on the request itself, not in a WeakMap keyed by it: an entry there gave
  // every request an identity hash and an ephemeron in an old table, 0.6-0.9% of the CPU of a
  // data-plane call (bench/NOTES.md, "Later: what each request still paid for").
  app.decorateRequest(RESOLVED, NOT_ASKED)
  app.decorateRequest('principal', function (this: FastifyRequest) {
    const memo = this as FastifyRequest & Memo
    const known = memo[RESOLVED]
    if (known !== NOT_ASKED) return known
    let principal: MaybePromise<Principal | undefined>
    try {
      principal = ask(this, strategies.items(), 0)
    } catch (error) {
      principal = Promise.reject(error as Error)
    }
    memo[RESOLVED] = principal
    return principal
  })
}

/** The first strategy's answer, from `from` on; synchronous while the strategies answer at once (a cache hit). */
function ask(
  request: FastifyRequest,
  strategies: readonly AuthStrategy[],
  from: number,
): MaybePromise<Principal | undefined> {
  for (let index = from; index < strategies.length; index++) {
    const principal = (strategies[index] as AuthStrategy).authenticate(request)
    if (isPromiseLike(principal)) return principal.then(found => found ?? ask(request, strategies, index + 1))
    if (principal) return principal
  }
  return undefined
}

/** The principal, or undefined for an anonymous request. */
export async function principalOf(request: FastifyRequest): Promise<Principal | undefined> {
  return request.principal()
}

/**
 * A signed-in user. API tokens are refused unless `apiTokens` is set: account and token
 * management need a session, so a leaked API token cannot mint more tokens.
 */
export async function requireUser(
  request: FastifyRequest,
  options: { apiTokens?: boolean } = {},
): Promise<SessionUser | TokenUser> {
  const principal = await request.principal()
  if (principal?.kind === 'user') return principal
  if (principal?.kind === 'api_token') {
    if (options.apiTokens) return principal
    throw errors.PARLEY_ERR_AUTH_SESSION_REQUIRED()
  }
  throw errors.PARLEY_ERR_AUTH_REQUIRED()
}

/** A signed-in user (session, never an API token) holding one of `roles`. */
export async function requireRole(request: FastifyRequest, ...roles: readonly Role[]): Promise<SessionUser> {
  const principal = await requireUser(request)
  if (principal.kind !== 'user') throw errors.PARLEY_ERR_AUTH_SESSION_REQUIRED()
  if (!roles.includes(principal.role)) throw errors.PARLEY_ERR_AUTH_FORBIDDEN()
  return principal
}
