import { Type, type PluginContext } from '@parley/core'

const PortalConfig = Type.Object({
  site_name: Type.String(),
  allow_guest: Type.Boolean(),
  allow_registration: Type.Boolean(),
  chat_history_mode: Type.Union([Type.Literal('browser'), Type.Literal('memory'), Type.Literal('server')]),
  /** Image attachments (the uploads plugin): its limits, and whether guests may attach; null when it is not loaded. */
  uploads: Type.Union([
    Type.Object({ max_file_bytes: Type.Integer(), max_files: Type.Integer(), guests: Type.Boolean() }),
    Type.Null(),
  ]),
})

/** The uploads plugin's public limits, when it is loaded (its settings exist only then). */
function uploadsOf(
  setting: (key: string) => unknown,
): { max_file_bytes: number; max_files: number; guests: boolean } | null {
  try {
    return {
      max_file_bytes: Number(setting('uploads.max_file_bytes')),
      max_files: Number(setting('uploads.max_files')),
      guests: setting('uploads.guests') === true,
    }
  } catch {
    return null
  }
}

/**
 * The public settings the pages need before they act: whether guests may chat, whether
 * registration is open, where conversations are kept and what may be attached.
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
      uploads: uploadsOf(setting),
    }),
  )
}
