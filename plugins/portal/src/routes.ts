import { Type, type PluginContext } from '@parley/core'

const PortalConfig = Type.Object({
  site_name: Type.String(),
  allow_guest: Type.Boolean(),
  allow_registration: Type.Boolean(),
  chat_history_mode: Type.Union([Type.Literal('browser'), Type.Literal('memory'), Type.Literal('server')]),
})

/**
 * The public settings the pages need before they act: whether guests may chat, whether
 * registration is open, and where conversations are kept.
 */
export function installPortalRoutes(http: PluginContext['http'], setting: (key: string) => unknown): void {
  http.get(
    '/api/portal/config',
    {
      schema: {
        tags: ['portal'],
        summary: 'Public settings the portal pages read: guest access, registration, history mode',
        response: { 200: PortalConfig },
      },
    },
    async () => ({
      site_name: String(setting('site_name')),
      allow_guest: setting('allow_guest') === true,
      allow_registration: setting('allow_registration') === true,
      chat_history_mode: setting('chat_history_mode') as 'browser' | 'memory' | 'server',
    }),
  )
}
