import type { ChatRouteView as Route } from '@parley/core/wire'
import { api, type Page } from '../api.js'
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
  pagedTable,
  render,
  submitRow,
  when,
} from '../ui.js'
import { allChannels } from './models.js'
import { allGroups } from './users.js'

/** Which refusals are about which field (the chat route's validation errors, shown where they belong). */
const FIELD_OF_CODE: Readonly<Record<string, string>> = {
  PARLEY_ERR_CATALOG_ROUTE_CHANNEL_MISSING: 'channel_id',
  PARLEY_ERR_CATALOG_ROUTE_CHANNEL_DISABLED: 'channel_id',
  PARLEY_ERR_CATALOG_ROUTE_GROUP_NOT_SERVED: 'channel_id',
}

/** Chat group routes: a group's portal traffic goes to one channel. */
export function chatRoutesSection(root: HTMLElement): void {
  const load = () =>
    render(root, async () => {
      const [routes, groups, channels] = await Promise.all([
        api<Page<Route>>('GET', '/api/admin/chat-routes'),
        allGroups(),
        allChannels(),
      ])
      const group = h('select', {}, ...groups.map(g => h('option', { value: g.name }, g.name)))
      const channel = h(
        'select',
        {},
        ...channels.map(c =>
          h('option', { value: String(c.id) }, `${c.name}${c.enabled ? '' : ` (${t('common.disabled')})`}`),
        ),
      )
      const form = h(
        'form',
        { class: 'admin-form admin-form-inline', novalidate: true, 'data-role': 'route-form' },
        formError(),
        field('group_name', t('routes.group'), group),
        field('channel_id', t('routes.channel'), channel),
        submitRow(
          h(
            'button',
            { type: 'submit', class: 'admin-btn admin-btn-primary', 'data-action': 'save-route' },
            t('routes.save'),
          ),
        ),
      )
      onSubmit(
        form,
        async () => {
          await api('POST', '/api/admin/chat-routes', { group_name: group.value, channel_id: Number(channel.value) })
          notify(t('routes.saved', { group: group.value }))
          await load()
        },
        FIELD_OF_CODE,
      )
      return h(
        'div',
        {},
        header(t('routes.title')),
        h('p', { class: 'admin-muted' }, t('routes.lead')),
        form,
        pagedTable(
          [
            { label: t('routes.group'), cell: (r: Route) => h('strong', {}, r.group_name) },
            { label: t('routes.channel'), cell: r => r.channel_name || `#${r.channel_id}` },
            { label: t('routes.updated'), cell: r => when(r.updated_at) },
            {
              label: t('common.actions'),
              cell: r => button(t('common.delete'), 'delete', () => void remove(r), 'danger'),
            },
          ],
          routes.items,
          { role: 'routes', rowKey: r => r.group_name },
        ),
      )
    })

  const remove = async (route: Route) => {
    if (!(await confirmAction(t('routes.confirm_delete', { group: route.group_name })))) return
    try {
      await api('DELETE', `/api/admin/chat-routes/${encodeURIComponent(route.group_name)}`)
      notify(t('routes.deleted', { group: route.group_name }))
      await load()
    } catch (error) {
      notify((error as Error).message, 'error')
    }
  }
  void load()
}
