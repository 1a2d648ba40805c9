import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { BUNDLE_PARTIAL, definePlugin, readClientBundle, serveClientBundle } from '@parley/core'
import { ASSETS_URL, CLIENT_DIR } from './bundle.js'
import { installPortalRoutes } from './routes.js'

export { buildClient, type BuiltClient } from './build-client.js'

const TEMPLATES_DIR = fileURLToPath(new URL('../templates/', import.meta.url))

/** The pages, all `public`: sessions live in the browser (see docs/portal.md), so each page's script guards itself. */
const PAGES = [
  { id: 'chat', path: '/', template: 'chat' },
  { id: 'chat-seed-000', path: '/chat', template: 'chat' },
  { id: 'login', path: '/login', template: 'login' },
  { id: 'register', path: '/register', template: 'register' },
  { id: 'forgot-password', path: '/forgot-password', template: 'forgot-password' },
  { id: 'reset-password', path: '/reset-password', template: 'reset-password' },
  { id: 'account', path: '/account', template: 'account' },
  { id: 'tokens', path: '/tokens', template: 'tokens' },
  { id: 'models', path: '/models', template: 'models' },
  { id: 'usage', path: '/usage', template: 'usage' },
  { id: 'model-configs', path: '/models/mine', template: 'model-configs' },
] as const

/** The end-user portal (docs/portal.md): server-rendered shells, behaviour in one front-end bundle. */
export default definePlugin({
  id: 'portal',
  version: '0.1.0',
  core: '^0.1.0',
  description: 'Chat, models, usage, sign-in, registration, account and API token pages',
  setup(ctx) {
    const bundle = readClientBundle(CLIENT_DIR, 'portal')
    for (const page of PAGES) {
      ctx.ui.pages.register(page.id, {
        path: page.path,
        template: page.template,
        templatesDir: TEMPLATES_DIR,
        access: 'public',
      })
    }
    ctx.ui.partials.register('assets', { name: 'portal/assets', file: path.join(CLIENT_DIR, BUNDLE_PARTIAL) })
    ctx.ui.partials.register('nav', { name: 'portal/nav', file: path.join(TEMPLATES_DIR, 'partials/portal/nav.hbs') })
    ctx.ui.partials.register('dialog', {
      name: 'portal/dialog',
      file: path.join(TEMPLATES_DIR, 'partials/portal/dialog.hbs'),
    })
    serveClientBundle(ctx.http, ASSETS_URL, bundle)
    installPortalRoutes(ctx.http, key => ctx.settings.get(key))
  },
})
