import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { BUNDLE_PARTIAL, definePlugin, readClientBundle, serveClientBundle } from '@parley/core'
import { ASSETS_URL, CLIENT_DIR } from './bundle.js'

export { buildConsole } from './build-client.js'

const TEMPLATES_DIR = fileURLToPath(new URL('../templates/', import.meta.url))
const SIGN_IN = '/admin/login'

/**
 * The console's sections, in menu order. Every one is the same server-rendered shell (menu,
 * texts, the bundle), guarded on the server for root and admin; the bundle draws the section
 * its path names from the admin API.
 */
export const SECTIONS = [
  { id: 'dashboard', path: '/admin', label: 'admin.nav.dashboard' },
  { id: 'channels', path: '/admin/channels', label: 'admin.nav.channels' },
  { id: 'models', path: '/admin/models', label: 'admin.nav.models' },
  { id: 'users', path: '/admin/users', label: 'admin.nav.users' },
  { id: 'groups', path: '/admin/groups', label: 'admin.nav.groups' },
  { id: 'chat-routes', path: '/admin/chat-routes', label: 'admin.nav.chat_routes' },
  { id: 'blocklist', path: '/admin/blocked-ips', label: 'admin.nav.blocklist' },
  { id: 'logs', path: '/admin/logs', label: 'admin.nav.logs' },
  { id: 'jobs', path: '/admin/jobs', label: 'admin.nav.jobs' },
  { id: 'settings', path: '/admin/settings', label: 'admin.nav.settings' },
  { id: 'account', path: '/admin/account', label: 'admin.nav.account' },
] as const

/** The admin console at /admin, for root and admin only. */
export default definePlugin({
  id: 'admin',
  version: '0.1.0',
  core: '^0.1.0',
  requires: ['identity'],
  description:
    'Admin console: dashboard, channels, models, users, groups, chat routes, blocked IPs, logs, jobs, settings',
  setup(ctx) {
    const bundle = readClientBundle(CLIENT_DIR, 'admin')
    ctx.ui.pages.register('login', {
      path: SIGN_IN,
      template: 'admin-login',
      templatesDir: TEMPLATES_DIR,
      access: 'public',
      title: 'Console',
    })
    SECTIONS.forEach((section, index) => {
      ctx.ui.pages.register(section.id, {
        path: section.path,
        template: 'admin-console',
        templatesDir: TEMPLATES_DIR,
        access: 'admin',
        signIn: SIGN_IN,
        title: 'Console',
      })
      ctx.ui.nav.register(section.id, {
        label: section.label,
        href: section.path,
        area: 'admin',
        access: 'admin',
        order: index * 10,
      })
    })
    ctx.ui.partials.register('assets', { name: 'admin/assets', file: path.join(CLIENT_DIR, BUNDLE_PARTIAL) })
    ctx.ui.partials.register('nav', { name: 'admin/nav', file: path.join(TEMPLATES_DIR, 'partials/admin/nav.hbs') })
    serveClientBundle(ctx.http, ASSETS_URL, bundle)
  },
})
