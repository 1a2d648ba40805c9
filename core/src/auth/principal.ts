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
      /**
       * The models the user's group may use (catalog names, as clients send them); absent when
       * the group allows every model. Empty: no model at all. The pipeline refuses any other.
       */
      readonly groupModels?: readonly string[]
    }
  | {
      readonly kind: 'api_token'
      readonly tokenId: string
      readonly userId: string
      readonly role: 'root' | 'admin' | 'user'
      readonly group: string
      readonly name: string
      /** The user's portal token (its `chat` token): only it may mark `/v1` calls as portal traffic. */
      readonly portal?: boolean
      /** Requests per minute of the user's group, when the group overrides the `user_rpm` setting. */
      readonly groupRpm?: number
      /**
       * The models the user's group may use (catalog names, as clients send them); absent when
       * the group allows every model. Empty: no model at all. The pipeline refuses any other.
       */
      readonly groupModels?: readonly string[]
    }
  | {
      readonly kind: 'guest'
      readonly ip: string
      readonly group: string
      /** The models the guests' group may use; absent when it allows every model (see `user`). */
      readonly groupModels?: readonly string[]
    }
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

/**
 * The models the caller's group may use, or undefined when it may use every one. The array the
 * auth strategy gave, so asking costs nothing.
 */
export function groupModelsOf(principal: Principal): readonly string[] | undefined {
  return principal.kind === 'widget_user' ? undefined : principal.groupModels
}
