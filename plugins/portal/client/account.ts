import { role, showError, text } from './dom.js'
import { ApiError, loadSession, saveSession, sessionJson, type Session, type User } from './session.js'

/* The account page: username, email and password of the signed-in user. */

export async function startAccount(root: HTMLElement): Promise<void> {
  const status = role(root, 'status')
  const error = role(root, 'error')
  const me = await sessionJson<User>('GET', '/api/users/me')
  const fill = (user: User) => {
    role<HTMLInputElement>(root, 'username-form').querySelector<HTMLInputElement>('input[name="username"]')!.value =
      user.username
    role<HTMLInputElement>(root, 'email-form').querySelector<HTMLInputElement>('input[name="email"]')!.value =
      user.email
  }
  fill(me)
  const handle = (name: string, submit: (fields: Record<string, string>) => Promise<void>) => {
    const form = role<HTMLFormElement>(root, name)
    form.addEventListener('submit', event => {
      event.preventDefault()
      void (async () => {
        status.textContent = ''
        showError(error, '')
        try {
          await submit(
            Object.fromEntries([...new FormData(form).entries()].map(([key, value]) => [key, String(value)])),
          )
          status.textContent = text('saved')
        } catch (failure) {
          showError(error, failure instanceof ApiError ? failure.message : String(failure))
        }
      })()
    })
  }
  const remember = (user: User) => {
    const session = loadSession()
    if (session) saveSession({ ...session, user })
    fill(user)
  }
  handle('username-form', async fields =>
    remember(await sessionJson<User>('POST', '/api/users/me/username', { username: fields.username })),
  )
  handle('email-form', async fields =>
    remember(await sessionJson<User>('POST', '/api/users/me/email', { email: fields.email })),
  )
  handle('password-form', async fields => {
    // The server revokes every other sign-in and answers with a new pair for this one.
    saveSession(await sessionJson<Session>('POST', '/api/users/me/password', fields))
    role<HTMLFormElement>(root, 'password-form').reset()
  })
  root.dataset.ready = 'true'
}
