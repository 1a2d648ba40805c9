import { readFileSync } from 'node:fs'
import path from 'node:path'
import { Type } from '@parley/core'
import type { TicketsContext } from './options.js'

/** The plugin's templates (`pages/`, `locales/`), shaped like a theme so a theme can override them. */
export const TEMPLATES_DIR = path.resolve(import.meta.dirname, '../templates')
const CLIENT_DIR = path.resolve(import.meta.dirname, '../client')
const SCRIPTS = ['tickets.js', 'admin-tickets.js', 'common.js', 'tickets.css']

/** A portal page, its link, a console section, and the two small scripts they load (no inline code: CSP). */
export function registerUi(ctx: TicketsContext): void {
  ctx.ui.pages.register('tickets', {
    path: '/tickets',
    template: 'tickets',
    templatesDir: TEMPLATES_DIR,
    // The portal keeps its session in the browser, not in a cookie: the script asks for it.
    access: 'public',
    title: 'tickets.title',
  })
  ctx.ui.nav.register('tickets', {
    label: 'tickets.title',
    href: '/tickets',
    area: 'portal',
    // Shown in the portal's menu once the visitor has signed in.
    access: 'user',
    order: 60,
  })
  ctx.ui.adminSections.register('tickets', {
    title: 'tickets.admin_title',
    path: '/admin/tickets',
    template: 'admin-tickets',
    templatesDir: TEMPLATES_DIR,
    order: 55,
  })
  const files = new Map(SCRIPTS.map(name => [name, readFileSync(path.join(CLIENT_DIR, name))]))
  const params = Type.Object({ name: Type.String() })
  ctx.http.get('/tickets-assets/:name', { schema: { tags: ['tickets'], params } }, async (request, reply) => {
    const body = files.get(request.params.name)
    if (!body) return reply.callNotFound()
    const type = request.params.name.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8'
    return reply.header('content-type', type).header('cache-control', 'public, max-age=300').send(body)
  })
}
