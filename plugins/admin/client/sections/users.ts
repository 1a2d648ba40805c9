import { api, query, type Page } from '../api.js'
import { h } from '../dom.js'
import { t } from '../i18n.js'
import { badge, button, dialogForm, field, header, notify, pager, render, table, when } from '../ui.js'

interface User {
  id: number
  email: string
  username: string
  role: 'root' | 'admin' | 'user'
  group: string
  status: 'active' | 'disabled'
  created_at: string
  last_login_at: string | null
}

export interface Group {
  name: string
  description: string
  rpm: number | null
  models: string[] | null
  model_config_limit: number
  members: number
}

const PAGE_SIZE = 20
const ROLES = ['user', 'admin', 'root'] as const

/** Users: search and filter, create, change role, group and status, set a new password. */
export function usersSection(root: HTMLElement): void {
  const filters = { q: '', role: '', status: '', page: 1 }
  const load = () =>
    render(root, async () => {
      const [list, groups] = await Promise.all([
        api<Page<User>>(
          'GET',
          `/api/admin/users${query({ q: filters.q, role: filters.role, status: filters.status, page: filters.page, page_size: PAGE_SIZE })}`,
        ),
        allGroups(),
      ])
      const search = h('input', {
        type: 'search',
        value: filters.q,
        placeholder: t('users.search'),
        'aria-label': t('users.search'),
      })
      const role = select(
        ['', ...ROLES],
        filters.role,
        value => (value ? t(`users.role_${value}`) : t('users.any_role')),
        t('users.role'),
      )
      const status = select(
        ['', 'active', 'disabled'],
        filters.status,
        value => (value ? t(`users.status_${value}`) : t('users.any_status')),
        t('users.status'),
      )
      const filterForm = h(
        'form',
        { class: 'admin-filters', 'data-role': 'user-filters' },
        search,
        role,
        status,
        h('button', { type: 'submit', class: 'admin-btn' }, t('common.filter')),
      )
      filterForm.addEventListener('submit', event => {
        event.preventDefault()
        Object.assign(filters, { q: search.value.trim(), role: role.value, status: status.value, page: 1 })
        void load()
      })
      return h(
        'div',
        {},
        header(
          t('users.title'),
          button(t('users.create'), 'create-user', () => void createUser(groups, load), 'primary'),
        ),
        filterForm,
        table(
          [
            { label: t('users.username'), cell: (u: User) => h('strong', {}, u.username) },
            { label: t('users.email'), cell: u => u.email },
            { label: t('users.role'), cell: u => t(`users.role_${u.role}`) },
            { label: t('users.group'), cell: u => u.group },
            {
              label: t('users.status'),
              cell: u =>
                u.status === 'active' ? badge(t('users.status_active')) : badge(t('users.status_disabled'), 'off'),
            },
            { label: t('users.last_login'), cell: u => when(u.last_login_at) },
            {
              label: t('common.actions'),
              cell: u =>
                h(
                  'div',
                  { class: 'admin-actions' },
                  button(t('common.edit'), 'edit', () => void editUser(u, groups, load)),
                  button(t('users.set_password'), 'set-password', () => setPassword(u)),
                ),
            },
          ],
          list.items,
          { role: 'users', rowKey: u => u.username },
        ),
        pager(filters.page, PAGE_SIZE, list.total, next => ((filters.page = next), void load())),
      )
    })
  void load()
}

export async function allGroups(): Promise<Group[]> {
  const groups: Group[] = []
  for (let page = 1; ; page++) {
    const list = await api<Page<Group>>('GET', `/api/admin/groups?page=${page}&page_size=100`)
    groups.push(...list.items)
    if (groups.length >= list.total || list.items.length === 0) return groups
  }
}

/** A select; `name` labels it where no visible label does (the filter bar). */
function select(
  values: readonly string[],
  current: string,
  label: (value: string) => string,
  name?: string,
): HTMLSelectElement {
  const element = h('select', { 'aria-label': name }, ...values.map(value => h('option', { value }, label(value))))
  element.value = current
  return element
}

async function editUser(user: User, groups: readonly Group[], saved: () => Promise<void>): Promise<void> {
  const role = select(ROLES, user.role, value => t(`users.role_${value}`))
  const group = select(
    groups.map(g => g.name),
    user.group,
    value => value,
  )
  const status = select(['active', 'disabled'], user.status, value => t(`users.status_${value}`))
  dialogForm({
    title: t('users.edit_title', { name: user.username }),
    role: 'user-form',
    fields: [
      h('p', {}, h('strong', {}, user.username), ' · ', user.email),
      field('role', t('users.role'), role),
      field('group', t('users.group'), group),
      field('status', t('users.status'), status),
    ],
    fieldsOfCode: {
      PARLEY_ERR_IDENTITY_GROUP_NOT_FOUND: 'group',
      PARLEY_ERR_IDENTITY_LAST_ROOT: 'role',
      PARLEY_ERR_IDENTITY_ROOT_ONLY: 'role',
    },
    async save() {
      await api('PUT', `/api/admin/users/${user.id}`, { role: role.value, group: group.value, status: status.value })
      notify(t('users.saved', { name: user.username }))
      await saved()
    },
  })
}

/** A new password for someone who lost theirs: every session of theirs ends. */
function setPassword(user: User): void {
  const password = h('input', { type: 'password', required: true, minlength: 8, autocomplete: 'new-password' })
  dialogForm({
    title: t('users.set_password_title', { name: user.username }),
    role: 'password-form',
    fields: [
      h('p', {}, t('users.set_password_lead')),
      field('password', t('users.password'), password, t('users.password_help')),
    ],
    saveLabel: t('users.set_password'),
    fieldsOfCode: {
      PARLEY_ERR_IDENTITY_PASSWORD_WEAK: 'password',
      PARLEY_ERR_IDENTITY_PASSWORD_COMMON: 'password',
      PARLEY_ERR_IDENTITY_PASSWORD_PERSONAL: 'password',
    },
    async save() {
      await api('POST', `/api/admin/users/${user.id}/password`, { password: password.value })
      notify(t('users.password_set', { name: user.username }))
    },
  })
}

async function createUser(groups: readonly Group[], saved: () => Promise<void>): Promise<void> {
  const email = h('input', { type: 'email', required: true, maxlength: 320, autocomplete: 'off' })
  const username = h('input', { required: true, maxlength: 200, autocomplete: 'off' })
  const password = h('input', { type: 'password', required: true, minlength: 8, autocomplete: 'new-password' })
  const role = select(ROLES, 'user', value => t(`users.role_${value}`))
  const group = select(
    groups.map(g => g.name),
    groups[0]?.name ?? 'default',
    value => value,
  )
  dialogForm({
    title: t('users.create'),
    role: 'user-form',
    fields: [
      field('email', t('users.email'), email),
      field('username', t('users.username'), username),
      field('password', t('users.password'), password, t('users.password_help')),
      field('role', t('users.role'), role),
      field('group', t('users.group'), group),
    ],
    fieldsOfCode: {
      PARLEY_ERR_IDENTITY_EMAIL_TAKEN: 'email',
      PARLEY_ERR_IDENTITY_EMAIL_INVALID: 'email',
      PARLEY_ERR_IDENTITY_USERNAME_TAKEN: 'username',
      PARLEY_ERR_IDENTITY_USERNAME_INVALID: 'username',
      PARLEY_ERR_IDENTITY_PASSWORD_WEAK: 'password',
      PARLEY_ERR_IDENTITY_GROUP_NOT_FOUND: 'group',
    },
    async save() {
      await api('POST', '/api/admin/users', {
        email: email.value.trim(),
        username: username.value.trim(),
        password: password.value,
        role: role.value,
        group: group.value,
      })
      notify(t('users.created', { name: username.value.trim() }))
      await saved()
    },
  })
}
