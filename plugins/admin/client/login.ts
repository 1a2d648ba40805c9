import { api } from './api.js'
import { $ } from './dom.js'

/** Only console paths: a `next` pointing anywhere else would make the login an open redirect. */
export function safeNext(raw: string | null): string {
  return raw && /^\/admin(?:[/?#]|$)/.test(raw) && !raw.startsWith('//') ? raw : '/admin'
}

export function loginPage(): void {
  const form = $('[data-role=login-form]') as HTMLFormElement | null
  const error = $('[data-role=error]')
  if (!form || !error) return
  form.addEventListener('submit', event => {
    event.preventDefault()
    const data = new FormData(form)
    error.hidden = true
    api('POST', '/api/auth/admin/login', {
      username: String(data.get('username') ?? ''),
      password: String(data.get('password') ?? ''),
    })
      .then(() => location.assign(safeNext(new URLSearchParams(location.search).get('next'))))
      .catch((failure: Error) => {
        error.textContent = failure.message
        error.hidden = false
      })
  })
}
