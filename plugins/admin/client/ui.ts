import { ApiError } from './api.js'
import { append, h, replace } from './dom.js'
import { t } from './i18n.js'

/* The console's building blocks: tables, pagers, fields with their errors, dialogs, notices. */

type Cell = Node | string | number | null | undefined

export interface Column<T> {
  readonly label: string
  readonly cell: (row: T) => Cell
  readonly className?: string
}

export function table<T>(
  columns: readonly Column<T>[],
  rows: readonly T[],
  options: { role?: string; rowKey?: (row: T) => string } = {},
): HTMLElement {
  const head = h('tr', {}, ...columns.map(column => h('th', { scope: 'col' }, column.label)))
  const body = rows.length
    ? rows.map(row =>
        h(
          'tr',
          { 'data-row': options.rowKey?.(row) },
          ...columns.map(column => h('td', { class: column.className }, column.cell(row) ?? '')),
        ),
      )
    : [h('tr', {}, h('td', { colspan: columns.length, class: 'admin-empty' }, t('common.empty')))]
  return h(
    'div',
    { class: 'admin-table-wrap' },
    h('table', { class: 'admin-table', 'data-role': options.role }, h('thead', {}, head), h('tbody', {}, ...body)),
  )
}

/** "Page 2 of 7 · 130 rows" with previous/next; hidden work when everything fits one page. */
export function pager(page: number, pageSize: number, total: number, go: (page: number) => void): HTMLElement {
  const pages = Math.max(1, Math.ceil(total / pageSize))
  return h(
    'nav',
    { class: 'admin-pager', 'aria-label': t('common.pages'), 'data-role': 'pager' },
    h(
      'button',
      {
        type: 'button',
        class: 'admin-btn',
        disabled: page <= 1,
        'data-action': 'previous-page',
        onclick: () => go(page - 1),
      },
      t('common.previous'),
    ),
    h('span', { 'data-role': 'page-info' }, t('common.page_of', { page, pages, total })),
    h(
      'button',
      {
        type: 'button',
        class: 'admin-btn',
        disabled: page >= pages,
        'data-action': 'next-page',
        onclick: () => go(page + 1),
      },
      t('common.next'),
    ),
  )
}

/**
 * A table of rows the API answers whole (models, bindings, groups, chat routes), paged in the
 * page: `pageSize` rows at a time, with the same pager as the API-paged lists.
 */
export function pagedTable<T>(
  columns: readonly Column<T>[],
  rows: readonly T[],
  options: { role?: string; rowKey?: (row: T) => string; pageSize?: number } = {},
): HTMLElement {
  const size = options.pageSize ?? 20
  const box = h('div', { class: 'admin-paged' })
  const show = (page: number) =>
    replace(
      box,
      table(columns, rows.slice((page - 1) * size, page * size), options),
      rows.length > size ? pager(page, size, rows.length, show) : null,
    )
  show(1)
  return box
}

/** A labelled control with the slot its server validation error appears in. */
export function field(name: string, label: string, control: HTMLElement, help?: string): HTMLElement {
  const id = `f-${name.replace(/[^a-z0-9_-]/gi, '-')}-${Math.random().toString(36).slice(2, 7)}`
  control.id = id
  if (!control.getAttribute('name')) control.setAttribute('name', name)
  const checkbox = control instanceof HTMLInputElement && control.type === 'checkbox'
  const labelElement = h('label', { for: id }, label)
  return h(
    'div',
    { class: checkbox ? 'admin-field admin-field-check' : 'admin-field', 'data-field': name },
    ...(checkbox ? [control, labelElement] : [labelElement, control]),
    help ? h('small', { class: 'admin-help' }, help) : null,
    h('p', { class: 'admin-field-error', 'data-role': 'field-error', role: 'alert', hidden: true }),
  )
}

export function clearErrors(form: HTMLElement): void {
  for (const slot of form.querySelectorAll<HTMLElement>('[data-role=field-error], [data-role=form-error]')) {
    slot.textContent = ''
    slot.hidden = true
  }
  for (const control of form.querySelectorAll('[aria-invalid]')) control.removeAttribute('aria-invalid')
}

/**
 * Shows an error where it belongs: next to its field when the server named one (or `fields`
 * maps its code to one), else at the top of the form.
 */
export function showError(form: HTMLElement, error: unknown, fields: Readonly<Record<string, string>> = {}): void {
  const message = error instanceof Error ? error.message : String(error)
  const path = error instanceof ApiError ? (fields[error.code] ?? error.field) : undefined
  // `settings.bots` may be drawn as `bots` (a provider's field) or belong to `settings` as a whole.
  const candidates = path ? [path, path.split('.').at(-1), path.split('.')[0]] : []
  const wrapper =
    candidates
      .map(name => (name ? form.querySelector<HTMLElement>(`[data-field="${CSS.escape(name)}"]`) : null))
      .find(Boolean) ?? null
  const slot =
    wrapper?.querySelector<HTMLElement>('[data-role=field-error]') ??
    form.querySelector<HTMLElement>('[data-role=form-error]')
  if (!slot) return notify(message, 'error')
  slot.textContent = message
  slot.hidden = false
  // The refusal is where the eyes go next: the field it is about, else the message itself
  // (a long form's Save button is far below the top), scrolled into view with the focus.
  const control = wrapper?.querySelector<HTMLElement>('input, select, textarea') ?? null
  control?.setAttribute('aria-invalid', 'true')
  if (control) {
    slot.id ||= `err-${Math.random().toString(36).slice(2, 9)}`
    control.setAttribute('aria-errormessage', slot.id)
  }
  const target = control ?? slot
  if (target === slot) slot.tabIndex = -1
  target.focus({ preventScroll: true })
  target.scrollIntoView({ block: 'center' })
}

export function formError(): HTMLElement {
  return h('p', { class: 'admin-error', 'data-role': 'form-error', role: 'alert', hidden: true })
}

/** A modal dialog holding a form; resolves when it closes. */
export function openDialog(title: string, content: HTMLElement): { close(): void; closed: Promise<void> } {
  const dialog = h('dialog', { class: 'admin-dialog', 'aria-label': title }, h('h2', {}, title), content)
  document.body.append(dialog)
  const closed = new Promise<void>(resolve => dialog.addEventListener('close', () => (dialog.remove(), resolve())))
  dialog.showModal()
  return { close: () => dialog.close(), closed }
}

/**
 * Runs `save` when the form is submitted, with the last errors cleared first; a refusal is
 * shown where it belongs (`showError`). `save` answers false to stay put without an error.
 */
export function onSubmit(
  form: HTMLFormElement,
  save: () => Promise<boolean | void>,
  fieldsOfCode: Readonly<Record<string, string>> = {},
  done?: () => void,
): void {
  form.addEventListener('submit', event => {
    event.preventDefault()
    clearErrors(form)
    save().then(
      result => (result === false ? undefined : done?.()),
      (error: unknown) => showError(form, error, fieldsOfCode),
    )
  })
}

export interface DialogFormOptions {
  readonly title: string
  /** `data-role` of the form, for tests and styles. */
  readonly role: string
  readonly fields: ReadonlyArray<HTMLElement | null>
  readonly saveLabel?: string
  /** Sends the form; the dialog closes once it resolves (unless it answers false). */
  readonly save: () => Promise<boolean | void>
  /** Error codes of refusals about one field → that field's name. */
  readonly fieldsOfCode?: Readonly<Record<string, string>>
}

/** A form in a modal dialog: its fields, Cancel and Save. */
export function dialogForm(options: DialogFormOptions): { form: HTMLFormElement; close(): void } {
  const form = h(
    'form',
    { class: 'admin-form', novalidate: true, 'data-role': options.role },
    formError(),
    ...options.fields,
    submitRow(
      button(t('common.cancel'), 'cancel', () => dialog.close()),
      h(
        'button',
        { type: 'submit', class: 'admin-btn admin-btn-primary', 'data-action': 'save' },
        options.saveLabel ?? t('common.save'),
      ),
    ),
  )
  const dialog = openDialog(options.title, form)
  onSubmit(form, options.save, options.fieldsOfCode, () => dialog.close())
  return { form, close: () => dialog.close() }
}

/** Destructive actions ask first. */
export function confirmAction(message: string, confirmLabel = t('common.delete')): Promise<boolean> {
  return new Promise(resolve => {
    let answer = false
    const ok = h(
      'button',
      {
        type: 'button',
        class: 'admin-btn admin-btn-danger',
        'data-action': 'confirm',
        onclick: () => ((answer = true), close()),
      },
      confirmLabel,
    )
    const cancel = h(
      'button',
      { type: 'button', class: 'admin-btn', 'data-action': 'cancel', onclick: () => close() },
      t('common.cancel'),
    )
    const { close, closed } = openDialog(
      t('common.confirm_title'),
      h(
        'div',
        { class: 'admin-confirm' },
        h('p', { 'data-role': 'confirm-message' }, message),
        h('div', { class: 'admin-actions' }, cancel, ok),
      ),
    )
    void closed.then(() => resolve(answer))
    ok.focus()
  })
}

let notices: HTMLElement | undefined

/** A short message in the corner, read out by screen readers. */
export function notify(message: string, kind: 'ok' | 'error' = 'ok'): void {
  notices ??= document.body.appendChild(h('div', { class: 'admin-notices', role: 'status', 'aria-live': 'polite' }))
  const item = h('p', { class: `admin-notice admin-notice-${kind}`, 'data-role': 'notice' }, message)
  notices.append(item)
  setTimeout(() => item.remove(), kind === 'error' ? 8000 : 4000)
}

export function header(title: string, ...actions: HTMLElement[]): HTMLElement {
  return h('header', { class: 'admin-header' }, h('h1', {}, title), h('div', { class: 'admin-actions' }, ...actions))
}

export function button(
  label: string,
  action: string,
  onclick: () => void,
  kind: 'primary' | 'danger' | '' = '',
): HTMLButtonElement {
  return h(
    'button',
    { type: 'button', class: `admin-btn${kind ? ` admin-btn-${kind}` : ''}`, 'data-action': action, onclick },
    label,
  )
}

export function badge(text: string, kind: 'ok' | 'off' | 'warn' | 'error' = 'ok'): HTMLElement {
  return h('span', { class: `admin-badge admin-badge-${kind}` }, text)
}

export function when(value: string | null | undefined): string {
  if (!value) return '—'
  const date = new Date(value)
  return Number.isNaN(date.getTime()) ? value : date.toLocaleString(document.documentElement.lang || undefined)
}

/** Renders a section's view into the root, with a visible error instead of a blank page. */
export async function render(root: HTMLElement, build: () => Promise<Node>): Promise<void> {
  try {
    replace(root, await build())
  } catch (error) {
    replace(
      root,
      h('p', { class: 'admin-error', role: 'alert' }, error instanceof Error ? error.message : String(error)),
    )
  }
}

export function submitRow(...children: HTMLElement[]): HTMLElement {
  const row = h('div', { class: 'admin-actions admin-form-actions' })
  append(row, ...children)
  return row
}
