import { api } from '../api.js'
import { h } from '../dom.js'
import { t } from '../i18n.js'
import { field, formError, header, notify, onSubmit, render, submitRow } from '../ui.js'

interface Me {
  id: number
  email: string
  username: string
  role: 'root' | 'admin' | 'user'
}

/** The signed-in admin's own account: their email (the first admin's is a placeholder) and password. */
export function accountSection(root: HTMLElement): void {
  const load = () =>
    render(root, async () => {
      const me = await api<Me>('GET', '/api/users/me')
      return h(
        'div',
        { class: 'admin-account' },
        header(t('account.title')),
        h('p', {}, h('strong', {}, me.username), ' · ', t(`users.role_${me.role}`)),
        me.email.endsWith('.invalid')
          ? h('p', { class: 'admin-account-note', role: 'note' }, t('account.placeholder'))
          : null,
        emailForm(me, load),
        passwordForm(),
      )
    })
  void load()
}

function emailForm(me: Me, saved: () => Promise<void>): HTMLElement {
  const email = h('input', { type: 'email', required: true, maxlength: 320, value: me.email, autocomplete: 'email' })
  const form = h(
    'form',
    { class: 'admin-form admin-card', novalidate: true, 'data-role': 'email-form' },
    h('h2', {}, t('account.email_title')),
    formError(),
    field('email', t('users.email'), email),
    submitRow(h('button', { type: 'submit', class: 'admin-btn admin-btn-primary' }, t('account.email_save'))),
  )
  onSubmit(
    form,
    async () => {
      await api('POST', '/api/users/me/email', { email: email.value.trim() })
      notify(t('account.email_saved'))
      await saved()
    },
    { PARLEY_ERR_IDENTITY_EMAIL_TAKEN: 'email', PARLEY_ERR_IDENTITY_EMAIL_INVALID: 'email' },
  )
  return form
}

function passwordForm(): HTMLElement {
  const current = h('input', { type: 'password', required: true, autocomplete: 'current-password' })
  const password = h('input', { type: 'password', required: true, minlength: 8, autocomplete: 'new-password' })
  const confirm = h('input', { type: 'password', required: true, minlength: 8, autocomplete: 'new-password' })
  const form = h(
    'form',
    { class: 'admin-form admin-card', novalidate: true, 'data-role': 'password-form' },
    h('h2', {}, t('account.password_title')),
    h('p', { class: 'admin-help' }, t('account.password_lead')),
    formError(),
    field('current_password', t('account.current_password'), current),
    field('password', t('account.new_password'), password, t('users.password_help')),
    field('password_confirm', t('account.confirm_password'), confirm),
    submitRow(h('button', { type: 'submit', class: 'admin-btn admin-btn-primary' }, t('account.password_save'))),
  )
  onSubmit(
    form,
    async () => {
      // The server ends every other session and gives this console a new cookie.
      await api('POST', '/api/users/me/password', {
        current_password: current.value,
        password: password.value,
        password_confirm: confirm.value,
      })
      form.reset()
      notify(t('account.password_saved'))
    },
    {
      PARLEY_ERR_IDENTITY_CURRENT_PASSWORD: 'current_password',
      PARLEY_ERR_IDENTITY_THROTTLED: 'current_password',
      PARLEY_ERR_IDENTITY_PASSWORD_MISMATCH: 'password_confirm',
      PARLEY_ERR_IDENTITY_PASSWORD_WEAK: 'password',
      PARLEY_ERR_IDENTITY_PASSWORD_COMMON: 'password',
      PARLEY_ERR_IDENTITY_PASSWORD_PERSONAL: 'password',
    },
  )
  return form
}
