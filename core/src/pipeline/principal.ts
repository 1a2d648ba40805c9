import type { FastifyRequest } from 'fastify'
import type { MaybePromise } from '../maybe.js'

/** Who is calling. Every request through the data plane has exactly one. */
export type Principal =
  | {
      readonly kind: 'user'
      readonly userId: string
      readonly role: 'root' | 'admin' | 'user'
      readonly group: string
      readonly name: string
      /** Requests per minute of the user's group, when the group overrides the `user_rpm` setting. */
      readonly groupRpm?: number
    }
  | {
      readonly kind: 'api_token'
      readonly tokenId: string
      readonly userId: string
      readonly role: 'root' | 'admin' | 'user'
      readonly group: string
      readonly name: string
      /** The user's portal token (seed 000's `chat` token): only it may mark `/v1` calls as portal traffic. */
      readonly portal?: boolean
      /** Requests per minute of the user's group, when the group overrides the `user_rpm` setting. */
      readonly groupRpm?: number
    }
  | { readonly kind: 'guest'; readonly ip: string; readonly group: string }
  | { readonly kind: 'widget_user'; readonly clientId: string; readonly externalId: string; readonly group: string }

/**
 * Turns a request into a principal. Strategies are asked in registration order; the first
 * that answers wins. Returning `undefined` means "not mine"; throwing a ParleyError refuses
 * the request (for example a revoked token).
 *
 * @example
 * ctx.auth.register('api-token', {
 *   async authenticate(request) {
 *     const token = request.headers['x-api-key']
 *     return typeof token === 'string' ? lookup(token) : undefined
 *   },
 * })
 */
export interface AuthStrategy {
  /** May answer at once (a cached token) or with a promise (a database lookup). */
  authenticate(request: FastifyRequest): MaybePromise<Principal | undefined>
}
