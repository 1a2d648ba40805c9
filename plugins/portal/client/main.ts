import { startAccount } from './account.js'
import { startAuthForm, startNav } from './auth.js'
import { startChat } from './chat.js'
import { startColorMode } from './color-mode.js'
import { showErrorDialog } from './dialog.js'
import { ApiError, loadSession, publicJson } from './session.js'
import type { HistoryMode } from './history.js'

/*
 * The portal's one bundle: each page's shell marks its root with `data-portal-page`, and this
 * module starts what that page needs. Pages are public on the server (the session lives in
 * this browser), so the pages that need a user send visitors to /login here.
 */

interface PortalConfig {
  readonly allow_guest: boolean
  readonly allow_registration: boolean
  readonly chat_history_mode: HistoryMode
}

function toLogin(): void {
  location.replace(`/login?next=${encodeURIComponent(location.pathname)}`)
}

async function start(): Promise<void> {
  startColorMode()
  const root = document.querySelector<HTMLElement>('[data-portal-page]')
  if (!root) return
  startNav()
  const page = root.dataset.portalPage
  try {
    if (page === 'login' || page === 'register') return startAuthForm(root, page)
    if (page === 'forgot-password' || page === 'reset-password')
      return (await import('./password-reset.js')).startPasswordReset(root, page)
    if (page === 'chat' || page === 'models') {
      const config = await publicJson<PortalConfig>('GET', '/api/portal/config')
      if (!loadSession() && !config.allow_guest) return toLogin()
      // The models and usage pages load their code when opened, so the chat's first paint does not carry it.
      return page === 'chat' ? await startChat(root, config) : await (await import('./models.js')).startModels(root)
    }
    if (!loadSession()) return toLogin()
    if (page === 'account') return await startAccount(root)
    if (page === 'tokens') return await (await import('./tokens.js')).startTokens(root)
    if (page === 'usage') return await (await import('./usage.js')).startUsage(root)
    if (page === 'model-configs') return await (await import('./model-configs.js')).startModelConfigs(root)
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return toLogin()
    if (error instanceof ApiError) return showErrorDialog(error)
    throw error
  }
}

void start()

// For the browser tests, which drive the answer renderer directly (importing app.js again runs nothing twice).
export { loadMarkdown, MarkdownView } from './markdown.js'
