import { role, showError } from './dom.js'
import { ApiError, forgetSession, publicJson } from './session.js'

/*
 * Forgotten passwords: the "forgot password" page asks for a link by mail; the "reset password"
 * page sets the new password with the secret the link carries in its fragment (never sent to a
 * server, so it reaches no access log; the page drops it from the address bar at once).
 */

export function startPasswordReset(root: HTMLElement, page: 'forgot-password' | 'reset-password'): void {
  const form = role<HTMLFormElement>(root, 'form')
  const error = role(root, 'error')
  const done = role(root, 'done')
  const token = page === 'reset-password' ? new URLSearchParams(location.hash.slice(1)).get('token') : null
  if (page === 'reset-password') {
    history.replaceState(null, '', location.pathname)
    if (!token) {
      form.hidden = true
      showError(error, root.querySelector('[data-role="no-token"]')?.textContent ?? '')
      error.hidden = false
      root.dataset.ready = 'true'
      return
    }
  }
  form.addEventListener('submit', event => {
    event.preventDefault()
    void (async () => {
      showError(error, '')
      const fields = Object.fromEntries([...new FormData(form).entries()].map(([key, value]) => [key, String(value)]))
      const submit = form.querySelector<HTMLButtonElement>('button[type="submit"]')
      if (submit) submit.disabled = true
      try {
        if (page === 'forgot-password') await publicJson('POST', '/api/auth/password/forgot', { email: fields.email })
        else {
          await publicJson('POST', '/api/auth/password/reset', {
            token,
            password: fields.password,
            password_confirm: fields.password_confirm,
          })
          forgetSession() // every session of the account has ended
        }
        form.hidden = true
        done.hidden = false
      } catch (failure) {
        showError(error, failure instanceof ApiError ? failure.message : String(failure))
      } finally {
        if (submit) submit.disabled = false
      }
    })()
  })
  root.dataset.ready = 'true'
}
