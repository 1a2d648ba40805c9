import { errors, Type, type PluginContext } from '@parley/core'
import { ASSETS_URL, IMMUTABLE, REVALIDATE, type ClientFile } from './bundle.js'

const PortalConfig = Type.Object({
  site_name: Type.String(),
  allow_guest: Type.Boolean(),
  allow_registration: Type.Boolean(),
  chat_history_mode: Type.Union([Type.Literal('browser'), Type.Literal('memory'), Type.Literal('server')]),
})

/**
 * The bundle (`/portal/assets/app.js|app.css`, immutable with the current `?v=`) and the public
 * settings the pages need before they act: whether guests may chat, whether registration is
 * open, and where conversations are kept.
 */
export function installPortalRoutes(http: PluginContext['http'], bundle: ReadonlyMap<string, ClientFile>, setting: (key: string) => unknown): void {
  http.get(`${ASSETS_URL}/:file`, { schema: { hide: true, params: Type.Object({ file: Type.String() }) } }, async (request, reply) => {
    const file = bundle.get(request.params.file)
    if (!file) throw errors.PARLEY_ERR_HTTP_NOT_FOUND({ method: 'GET', path: request.url.split('?')[0] })
    const etag = `"${file.hash}"`
    void reply
      .header('content-type', file.contentType)
      .header('cache-control', (request.query as { v?: unknown }).v === file.hash ? IMMUTABLE : REVALIDATE)
      .header('etag', etag)
      .header('x-content-type-options', 'nosniff')
    if (request.headers['if-none-match'] === etag) return reply.code(304).send()
    return reply.send(file.body)
  })

  http.get(
    '/api/portal/config',
    { schema: { tags: ['portal'], summary: 'Public settings the portal pages read: guest access, registration, history mode', response: { 200: PortalConfig } } },
    async () => ({
      site_name: String(setting('site_name')),
      allow_guest: setting('allow_guest') === true,
      allow_registration: setting('allow_registration') === true,
      chat_history_mode: setting('chat_history_mode') as 'browser' | 'memory' | 'server',
    }),
  )
}
