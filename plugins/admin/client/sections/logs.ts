import type { UsageLogView as LogRow } from '@parley/core/wire'
import { api, CONSOLE_HEADERS, query, type Page } from '../api.js'
import { h } from '../dom.js'
import { t } from '../i18n.js'
import { badge, clearErrors, formError, header, notify, pager, render, showError, table, when } from '../ui.js'

const PAGE_SIZE = 50
const FILTERS = ['from', 'to', 'user', 'ip', 'model', 'channel', 'status'] as const
type Filters = Record<(typeof FILTERS)[number], string>

/** `datetime-local` has no zone: send the browser's, so "from 09:00" means 09:00 here. */
function instant(local: string): string {
  if (!local) return ''
  const date = new Date(local)
  if (Number.isNaN(date.getTime())) return ''
  const offset = -date.getTimezoneOffset()
  const sign = offset >= 0 ? '+' : '-'
  const pad = (n: number) => String(Math.floor(Math.abs(n))).padStart(2, '0')
  return `${local.length === 16 ? `${local}:00` : local}${sign}${pad(offset / 60)}:${pad(offset % 60)}`
}

/** Usage logs with filters, pages and the CSV export of the same filters. */
export function logsSection(root: HTMLElement): void {
  const filters: Filters = { from: '', to: '', user: '', ip: '', model: '', channel: '', status: '' }
  let page = 1
  const params = () => ({ ...filters, from: instant(filters.from), to: instant(filters.to) })
  const load = () =>
    render(root, async () => {
      const form = filterForm(
        filters,
        () => ((page = 1), void load()),
        () => void download(form, params()),
      )
      let list: Page<LogRow> = { items: [], total: 0, page, page_size: PAGE_SIZE }
      try {
        list = await api<Page<LogRow>>('GET', `/api/admin/logs${query({ ...params(), page, page_size: PAGE_SIZE })}`)
      } catch (error) {
        queueMicrotask(() => showError(form, error))
      }
      return h(
        'div',
        {},
        header(t('logs.title')),
        form,
        table(
          [
            { label: t('logs.time'), cell: (r: LogRow) => when(r.created_at) },
            { label: t('logs.caller'), cell: r => r.username ?? t(`logs.kind_${r.principal_kind}`) },
            { label: t('logs.ip'), cell: r => h('code', {}, r.ip_address) },
            { label: t('logs.model'), cell: r => r.model },
            { label: t('logs.channel'), cell: r => r.channel_name ?? '—' },
            {
              label: t('logs.tokens'),
              cell: r => `${r.prompt_tokens} / ${r.completion_tokens}${r.estimated ? ' *' : ''}`,
            },
            { label: t('logs.status'), cell: statusCell },
            { label: t('logs.latency'), cell: r => `${r.latency_ms} ms` },
          ],
          list.items,
          { role: 'logs' },
        ),
        h('p', { class: 'admin-muted' }, t('logs.estimated_note')),
        pager(page, PAGE_SIZE, list.total, next => ((page = next), void load())),
      )
    })
  void load()
}

/**
 * The status in words (成功 / 错误 / 已中断), and for a failure why, in words too; the error
 * type itself stays a tooltip, to search the docs or the access log by.
 */
function statusCell(row: LogRow): HTMLElement {
  const kind = row.status === 'success' ? 'ok' : row.status === 'aborted' ? 'warn' : 'error'
  const known = `logs.status_${row.status}`
  const status = badge(t(known) === known ? readable(row.status) : t(known), kind)
  status.dataset.status = row.status
  if (row.status === 'success' || !row.error_type) return h('span', { class: 'admin-status' }, status)
  const key = `logs.reason_${row.error_type}`
  const reason = h(
    'small',
    { class: 'admin-status-reason', title: row.error_type, 'data-role': 'status-reason' },
    t(key) === key ? readable(row.error_type) : t(key),
  )
  return h('span', { class: 'admin-status' }, status, reason)
}

/** `model_not_found` → `Model not found`, for an error type this console has no words for yet. */
function readable(code: string): string {
  const words = code.replace(/_/g, ' ')
  return words.charAt(0).toUpperCase() + words.slice(1)
}

function filterForm(filters: Filters, apply: () => void, exportCsv: () => void): HTMLFormElement {
  const inputs = {
    from: h('input', { type: 'datetime-local', value: filters.from, 'aria-label': t('logs.from') }),
    to: h('input', { type: 'datetime-local', value: filters.to, 'aria-label': t('logs.to') }),
    user: h('input', { value: filters.user, placeholder: t('logs.user'), 'aria-label': t('logs.user') }),
    ip: h('input', { value: filters.ip, placeholder: t('logs.ip'), 'aria-label': t('logs.ip') }),
    model: h('input', { value: filters.model, placeholder: t('logs.model'), 'aria-label': t('logs.model') }),
    channel: h('input', { value: filters.channel, placeholder: t('logs.channel'), 'aria-label': t('logs.channel') }),
    status: h(
      'select',
      { 'aria-label': t('logs.status') },
      ...['', 'success', 'error', 'aborted'].map(value =>
        h('option', { value }, value ? t(`logs.status_${value}`) : t('logs.any_status')),
      ),
    ),
  }
  inputs.status.value = filters.status
  const form = h(
    'form',
    { class: 'admin-filters admin-filters-wrap', 'data-role': 'log-filters', novalidate: true },
    h('label', { class: 'admin-inline-label' }, t('logs.from'), inputs.from),
    h('label', { class: 'admin-inline-label' }, t('logs.to'), inputs.to),
    inputs.user,
    inputs.ip,
    inputs.model,
    inputs.channel,
    inputs.status,
    h('button', { type: 'submit', class: 'admin-btn admin-btn-primary', 'data-action': 'filter' }, t('common.filter')),
    h('button', { type: 'button', class: 'admin-btn', 'data-action': 'export', onclick: exportCsv }, t('logs.export')),
    formError(),
  )
  const read = () => {
    for (const name of FILTERS) filters[name] = inputs[name].value.trim()
  }
  form.addEventListener('submit', event => {
    event.preventDefault()
    read()
    apply()
  })
  form.addEventListener('change', read)
  return form
}

/**
 * The export streams from the server; it is fetched with the console header (a plain link could
 * not send it) and handed to the browser as a download.
 */
async function download(form: HTMLFormElement, filters: Record<string, string>): Promise<void> {
  clearErrors(form)
  const response = await fetch(`/api/admin/logs/export${query(filters)}`, {
    headers: CONSOLE_HEADERS,
    credentials: 'same-origin',
  })
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { error?: { message?: string } }
    return showError(form, new Error(body.error?.message ?? `HTTP ${response.status}`))
  }
  const name = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? 'usage-logs.csv'
  const url = URL.createObjectURL(await response.blob())
  const link = h('a', { href: url, download: name, hidden: true })
  document.body.append(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(url), 60_000)
  notify(t('logs.exported'))
}
