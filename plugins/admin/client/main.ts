import { api } from './api.js'
import { $ } from './dom.js'
import { loginPage } from './login.js'
import { accountSection } from './sections/account.js'
import { blocklistSection } from './sections/blocklist.js'
import { channelsSection } from './sections/channels.js'
import { chatRoutesSection } from './sections/chat-routes.js'
import { dashboardSection } from './sections/dashboard.js'
import { groupsSection } from './sections/groups.js'
import { jobsSection } from './sections/jobs.js'
import { logsSection } from './sections/logs.js'
import { modelsSection } from './sections/models.js'
import { settingsSection } from './sections/settings.js'
import { usersSection } from './sections/users.js'

/*
 * The console's entry: the server rendered the shell of the section the path names (after
 * checking the role); this draws the section from the admin API.
 */

const SECTIONS: Readonly<Record<string, (root: HTMLElement) => void>> = {
  '/admin': dashboardSection,
  '/admin/channels': channelsSection,
  '/admin/models': modelsSection,
  '/admin/users': usersSection,
  '/admin/groups': groupsSection,
  '/admin/chat-routes': chatRoutesSection,
  '/admin/blocked-ips': blocklistSection,
  '/admin/logs': logsSection,
  '/admin/jobs': jobsSection,
  '/admin/settings': settingsSection,
  '/admin/account': accountSection,
}

function start(): void {
  // The menu (in plugins' sections too) signs out: the server clears the console's cookie.
  $('.admin-nav [data-action=logout]')?.addEventListener('click', () => {
    void api('POST', '/api/auth/admin/logout', {}).finally(() => location.assign('/admin/login'))
  })
  const shell = $('[data-admin]')
  if (shell?.dataset.admin === 'login') return loginPage()
  if (shell?.dataset.admin !== 'console') return
  const root = $('[data-role=root]')
  const path = location.pathname.replace(/\/+$/, '') || '/admin'
  const section = SECTIONS[path]
  // A plugin's own section renders itself on the server; its page has no data-role=root here.
  if (root && section) section(root)
}

start()
