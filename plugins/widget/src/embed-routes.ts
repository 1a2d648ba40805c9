import { Type, type HttpScope, type readClientBundle } from '@parley/core'
import type { ClientView, WidgetClients } from './clients.js'
import { widgetErrors } from './errors.js'
import { FRAME_ASSETS_URL } from './bundle.js'

type Bundle = ReturnType<typeof readClientBundle>

const TITLES = { en: 'Chat', 'zh-CN': '在线咨询' } as const
const ClientParams = Type.Object({ client_id: Type.String({ maxLength: 64 }) })
const LangQuery = Type.Object({ lang: Type.Optional(Type.String({ maxLength: 16 })) })

/**
 * What the host page loads: `/widget.js` (the loader), `GET /api/widget/embed/:client_id`
 * (answers with CORS only to an allowed page origin, so any other page draws nothing) and
 * `/widget/frame` (the launcher and panel, with `frame-ancestors` limited to the client's
 * allowed origins).
 */
export function installEmbedRoutes(
  http: HttpScope,
  deps: { clients: WidgetClients; loader: Buffer; frame: Bundle },
): void {
  http.get(
    '/widget.js',
    { schema: { tags: ['widget'], summary: 'The widget loader for host pages', querystring: Type.Object({}) } },
    async (_request, reply) =>
      reply
        .header('content-type', 'text/javascript; charset=utf-8')
        .header('cache-control', 'public, max-age=300')
        .header('cross-origin-resource-policy', 'cross-origin')
        .header('x-content-type-options', 'nosniff')
        .send(deps.loader),
  )

  http.get(
    '/api/widget/embed/:client_id',
    {
      schema: {
        tags: ['widget'],
        summary: 'May this page embed the widget?',
        params: ClientParams,
        querystring: LangQuery,
      },
    },
    async (request, reply) => {
      const origin = request.headers.origin
      const client = await deps.clients.find(request.params.client_id)
      void reply.header('vary', 'Origin')
      if (!client || !client.enabled || typeof origin !== 'string' || !client.origins.includes(origin))
        throw widgetErrors.PARLEY_ERR_WIDGET_ORIGIN_FORBIDDEN()
      const lang = languageOf(request.query.lang)
      void reply.header('access-control-allow-origin', origin)
      const base = `${request.protocol}://${request.host}`
      return {
        frame_url: `${base}/widget/frame?client=${encodeURIComponent(client.clientId)}&lang=${lang}`,
        title: TITLES[lang],
      }
    },
  )

  http.get(
    '/widget/frame',
    {
      schema: {
        tags: ['widget'],
        summary: 'The widget frame (launcher and panel) for an allowed page',
        querystring: Type.Object({
          client: Type.String({ maxLength: 64 }),
          lang: Type.Optional(Type.String({ maxLength: 16 })),
        }),
      },
    },
    async (request, reply) => {
      const client = await deps.clients.find(request.query.client)
      if (!client || !client.enabled) throw widgetErrors.PARLEY_ERR_WIDGET_ORIGIN_FORBIDDEN()
      const lang = languageOf(request.query.lang)
      return reply
        .header('content-type', 'text/html; charset=utf-8')
        .header('content-security-policy', framePolicy(client))
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .header('cache-control', 'private, no-cache')
        .send(framePage(client, lang, deps.frame))
    },
  )
}

function languageOf(value: string | undefined): 'en' | 'zh-CN' {
  return value?.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en'
}

/** The frame renders only inside the client's allowed origins; no inline code anywhere. */
export function framePolicy(client: ClientView): string {
  const ancestors = client.origins.length > 0 ? client.origins.join(' ') : "'none'"
  return `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors ${ancestors}; base-uri 'none'; form-action 'none'`
}

function framePage(client: ClientView, lang: 'en' | 'zh-CN', frame: Bundle): string {
  const config = { lang, greeting: client.greeting, color: client.themeColor, origins: client.origins }
  const version = (name: string) => `${FRAME_ASSETS_URL}/${name}?v=${frame.get(name)?.hash ?? ''}`
  return [
    '<!doctype html>',
    `<html lang="${lang}">`,
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(TITLES[lang])}</title>`,
    `<link rel="stylesheet" href="${version('app.css')}">`,
    `<script type="module" src="${version('app.js')}"></script>`,
    '</head>',
    `<body><div id="parley-widget" data-config="${escapeHtml(JSON.stringify(config))}"></div></body>`,
    '</html>',
  ].join('\n')
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, char => `&#${char.charCodeAt(0)};`)
}
