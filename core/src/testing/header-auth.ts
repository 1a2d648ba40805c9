import { definePlugin, type AnyPluginDefinition } from '../kernel/plugin.js'
import type { Principal } from '../auth/principal.js'

/**
 * A stand-in auth strategy for tests of core and of plugins that must not depend on the
 * identity plugin: the `x-who` header names one of `principals`; anything else is anonymous.
 *
 * @example
 * const auth = headerAuth({ admin: { kind: 'user', userId: '1', role: 'admin', group: 'default', name: 'ada' } })
 * await gateway.inject({ url: '/api/admin/logs', headers: { 'x-who': 'admin' } })
 */
export function headerAuth(principals: Readonly<Record<string, Principal>>, id = 'header-auth'): AnyPluginDefinition {
  return definePlugin({
    id,
    version: '1.0.0',
    setup(ctx) {
      ctx.auth.register('header', {
        async authenticate(request) {
          const who = request.headers['x-who']
          return typeof who === 'string' && Object.hasOwn(principals, who) ? principals[who] : undefined
        },
      })
    },
  })
}
