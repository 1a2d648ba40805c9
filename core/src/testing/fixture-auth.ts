import { definePlugin } from '../kernel/plugin.js'
import type { Principal } from '../auth/principal.js'

/** The admin token of the fixture auth plugin. */
export const ROOT = 'root'

/**
 * Bearer tokens of the fixture auth plugin, each naming the caller's group:
 * `root` (root user 1), `user-<group>` (session of user 2 "ada"), `token-<group>` (API token 7
 * of user 2), `portal-<group>` (user 2's portal `chat` token 8); `x-guest: <group>` without a
 * token is a guest. Anything else is anonymous.
 */
export const fixtureAuth = definePlugin({
  id: 'fixture-auth',
  version: '1.0.0',
  setup(ctx) {
    ctx.auth.register('fixture', {
      async authenticate(request): Promise<Principal | undefined> {
        const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1]
        if (token === ROOT) return { kind: 'user', userId: '1', role: 'root', group: 'default', name: 'root' }
        const [, kind, group] = /^(user|token|portal)-(.+)$/.exec(token ?? '') ?? []
        if (kind === 'user' && group) return { kind: 'user', userId: '2', role: 'user', group, name: 'ada' }
        if (kind === 'token' && group)
          return { kind: 'api_token', tokenId: '7', userId: '2', role: 'user', group, name: 'ada' }
        if (kind === 'portal' && group)
          return { kind: 'api_token', tokenId: '8', userId: '2', role: 'user', group, name: 'ada', portal: true }
        const guest = request.headers['x-guest']
        if (token === undefined && typeof guest === 'string' && guest !== '')
          return { kind: 'guest', ip: request.ip, group: guest }
        return undefined
      },
    })
  },
})
