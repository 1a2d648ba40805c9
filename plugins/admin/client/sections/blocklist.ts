import { api, query, type Page } from '../api.js'
import { h } from '../dom.js'
import { t } from '../i18n.js'
import {
  button,
  confirmAction,
  field,
  formError,
  header,
  notify,
  onSubmit,
  pager,
  render,
  submitRow,
  table,
  when,
} from '../ui.js'

interface Rule {
  id: number
  ip_address: string
  reason: string
  created_by: string
  created_at: string
}

interface Attempt {
  id: number
  ip_address: string
  method: string
  path: string
  rule: string
  created_at: string
}

const PAGE_SIZE = 20

/** Blocked addresses and ranges, and every request they refused. */
export function blocklistSection(root: HTMLElement): void {
  const state = { rules: 1, attempts: 1, ip: '' }
  const load = () =>
    render(root, async () => {
      const [rules, attempts] = await Promise.all([
        api<Page<Rule>>('GET', `/api/admin/blocked-ips${query({ page: state.rules, page_size: PAGE_SIZE })}`),
        api<Page<Attempt>>(
          'GET',
          `/api/admin/blocked-ips/attempts${query({ page: state.attempts, page_size: PAGE_SIZE, ip: state.ip })}`,
        ),
      ])
      const address = h('input', { required: true, maxlength: 64, placeholder: '203.0.113.0/24' })
      const reason = h('input', { maxlength: 255 })
      const form = h(
        'form',
        { class: 'admin-form admin-form-inline', novalidate: true, 'data-role': 'block-form' },
        formError(),
        field('ip_address', t('blocklist.address'), address, t('blocklist.address_help')),
        field('reason', t('blocklist.reason'), reason),
        submitRow(
          h(
            'button',
            { type: 'submit', class: 'admin-btn admin-btn-primary', 'data-action': 'block' },
            t('blocklist.block'),
          ),
        ),
      )
      onSubmit(
        form,
        async () => {
          await api('POST', '/api/admin/blocked-ips', {
            ip_address: address.value.trim(),
            ...(reason.value.trim() ? { reason: reason.value.trim() } : {}),
          })
          notify(t('blocklist.blocked', { rule: address.value.trim() }))
          state.rules = 1
          await load()
        },
        { PARLEY_ERR_BLOCKLIST_RULE_INVALID: 'ip_address', PARLEY_ERR_BLOCKLIST_RULE_EXISTS: 'ip_address' },
      )
      const ipFilter = h('input', {
        type: 'search',
        value: state.ip,
        placeholder: t('blocklist.filter_ip'),
        'aria-label': t('blocklist.filter_ip'),
      })
      const filter = h(
        'form',
        { class: 'admin-filters', 'data-role': 'attempt-filters' },
        ipFilter,
        h('button', { type: 'submit', class: 'admin-btn' }, t('common.filter')),
      )
      filter.addEventListener('submit', event => {
        event.preventDefault()
        Object.assign(state, { ip: ipFilter.value.trim(), attempts: 1 })
        void load()
      })
      return h(
        'div',
        {},
        header(t('blocklist.title')),
        h('p', { class: 'admin-muted' }, t('blocklist.lead')),
        form,
        table(
          [
            { label: t('blocklist.address'), cell: (r: Rule) => h('code', {}, r.ip_address) },
            { label: t('blocklist.reason'), cell: r => r.reason || '—' },
            { label: t('blocklist.by'), cell: r => r.created_by },
            { label: t('blocklist.since'), cell: r => when(r.created_at) },
            {
              label: t('common.actions'),
              cell: r => button(t('blocklist.unblock'), 'unblock', () => void unblock(r), 'danger'),
            },
          ],
          rules.items,
          { role: 'rules', rowKey: r => r.ip_address },
        ),
        pager(state.rules, PAGE_SIZE, rules.total, next => ((state.rules = next), void load())),
        h('h2', {}, t('blocklist.attempts')),
        filter,
        table(
          [
            { label: t('blocklist.when'), cell: (a: Attempt) => when(a.created_at) },
            { label: t('blocklist.ip'), cell: a => h('code', {}, a.ip_address) },
            { label: t('blocklist.request'), cell: a => `${a.method} ${a.path}` },
            { label: t('blocklist.rule'), cell: a => a.rule },
          ],
          attempts.items,
          { role: 'attempts' },
        ),
        pager(state.attempts, PAGE_SIZE, attempts.total, next => ((state.attempts = next), void load())),
      )
    })

  const unblock = async (rule: Rule) => {
    if (!(await confirmAction(t('blocklist.confirm_unblock', { rule: rule.ip_address }), t('blocklist.unblock'))))
      return
    try {
      await api('DELETE', `/api/admin/blocked-ips/${rule.id}`)
      notify(t('blocklist.unblocked', { rule: rule.ip_address }))
      await load()
    } catch (error) {
      notify((error as Error).message, 'error')
    }
  }
  void load()
}
