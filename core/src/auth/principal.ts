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
      /** The models this token may use, on top of its group's list; absent: no list of its own. */
      readonly tokenModels?: readonly string[]
      /** The token's own requests per minute; the tighter of it and the user's limit applies. */
      readonly tokenRpm?: number
      /** Counts the tokens this token's calls use, when it has a quota (the data plane adds each call's). */
      readonly meter?: UsageMeter
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

/** Told the usage of each call made with a principal that has one (an API token's quota). */
export interface UsageMeter {
  /** Prompt plus completion tokens of one call, as its usage row counts them. */
  add(tokens: number): void
}

/** The models the caller's API token may use, or undefined when the token has no list of its own. */
export function tokenModelsOf(principal: Principal): readonly string[] | undefined {
  return principal.kind === 'api_token' ? principal.tokenModels : undefined
}

/**
 * The models the caller's group may use, or undefined when it may use every one. The array the
 * auth strategy gave, so asking costs nothing.
 */
export function groupModelsOf(principal: Principal): readonly string[] | undefined {
  return principal.kind === 'widget_user' ? undefined : principal.groupModels
}
