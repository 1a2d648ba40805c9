import { nextPath, role, showError } from './dom.js'
import { ApiError, forgetSession, loadSession, publicJson, saveSession, type Session } from './session.js'

/* Sign-in and registration forms, and the navigation that follows the session. */

export function startAuthForm(root: HTMLElement, kind: 'login' | 'register'): void {
  const form = role<HTMLFormElement>(root, 'form')
  const error = role(root, 'error')
  form.addEventListener('submit', event => {
    event.preventDefault()
    void (async () => {
      showError(error, '')
      const fields = Object.fromEntries([...new FormData(form).entries()].map(([key, value]) => [key, String(value)]))
      const submit = form.querySelector<HTMLButtonElement>('button[type="submit"]')
      if (submit) submit.disabled = true
      try {
        const session = await publicJson<Session>(
          'POST',
          kind === 'login' ? '/api/auth/login' : '/api/auth/register',
          fields,
        )
        forgetSession() // a new session never inherits the previous user's chat token
        saveSession(session)
        location.assign(nextPath())
      } catch (failure) {
        showError(error, failure instanceof ApiError ? failure.message : String(failure))
      } finally {
        if (submit) submit.disabled = false
      }
    })()
  })
  root.dataset.ready = 'true'
}

/** Shows the links for the signed-in user or for visitors, and wires "sign out". */
export function startNav(): void {
  const session = loadSession()
  for (const link of document.querySelectorAll<HTMLElement>('.portal-nav [data-when]'))
    link.hidden = (link.dataset.when === 'user') !== Boolean(session)
  const name = document.querySelector('.portal-nav [data-role="username"]')
  if (name && session) name.textContent = session.user.username
  document.querySelector('.portal-nav [data-action="logout"]')?.addEventListener('click', () => {
    void (async () => {
      const current = loadSession()
      if (current)
        await publicJson('POST', '/api/auth/logout', { refresh_token: current.refresh_token }).catch(() => undefined)
      forgetSession()
      location.assign('/login')
    })()
  })
}
