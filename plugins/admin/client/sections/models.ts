import type { ModelView as Model } from '@parley/core/wire'
import { api, type Page } from '../api.js'
import { h } from '../dom.js'
import { t } from '../i18n.js'
import { badge, button, confirmAction, dialogForm, field, header, notify, pagedTable, render } from '../ui.js'
import type { Channel } from './channels.js'

interface Binding {
  channel: Channel
  model: string
  upstream_model: string
}

/** The model catalog, and each channel's bindings (alias → upstream model). */
export function modelsSection(root: HTMLElement): void {
  const load = () =>
    render(root, async () => {
      const [models, channels] = await Promise.all([api<Page<Model>>('GET', '/api/admin/models'), allChannels()])
      const byId = new Map(channels.map(c => [c.id, c]))
      const bindings: Binding[] = channels.flatMap(channel =>
        channel.models.map(m => ({ channel, model: m.model, upstream_model: m.upstream_model })),
      )
      return h(
        'div',
        {},
        header(
          t('models.title'),
          button(t('models.create'), 'create-model', () => void editModel(undefined, load), 'primary'),
        ),
        pagedTable(
          [
            { label: t('models.name'), cell: (m: Model) => h('strong', {}, m.name) },
            { label: t('models.display_name'), cell: m => m.display_name },
            {
              label: t('models.flags'),
              cell: m =>
                h(
                  'span',
                  {},
                  m.reasoning ? badge(t('models.reasoning'), 'warn') : null,
                  ' ',
                  m.vision ? badge(t('models.vision'), 'warn') : null,
                ),
            },
            {
              label: t('models.channels'),
              cell: m => m.channels.map(id => byId.get(id)?.name ?? `#${id}`).join(', ') || '—',
            },
            {
              label: t('channels.state'),
              cell: m => (m.enabled ? badge(t('common.enabled')) : badge(t('common.disabled'), 'off')),
            },
            {
              label: t('common.actions'),
              cell: m =>
                h(
                  'div',
                  { class: 'admin-row-actions' },
                  button(t('common.edit'), 'edit', () => void editModel(m, load)),
                  button(t('common.delete'), 'delete', () => void removeModel(m), 'danger'),
                ),
            },
          ],
          models.items,
          { role: 'models', rowKey: m => m.name },
        ),
        h('h2', {}, t('models.bindings')),
        h('p', { class: 'admin-muted' }, t('models.bindings_lead')),
        h(
          'div',
          { class: 'admin-actions' },
          button(t('models.bind'), 'bind-model', () => void bind(channels, models.items, load), 'primary'),
        ),
        pagedTable(
          [
            { label: t('models.alias'), cell: (b: Binding) => h('strong', {}, b.model) },
            { label: t('models.upstream_model'), cell: b => h('code', {}, b.upstream_model) },
            { label: t('models.channel'), cell: b => b.channel.name },
            { label: t('common.actions'), cell: b => button(t('models.unbind'), 'unbind', () => void unbind(b)) },
          ],
          bindings,
          { role: 'bindings', rowKey: b => `${b.channel.name}:${b.model}` },
        ),
      )
    })

  const removeModel = async (model: Model) => {
    if (!(await confirmAction(t('models.confirm_delete', { name: model.name })))) return
    try {
      await api('DELETE', `/api/admin/models/${encodeURIComponent(model.name)}`)
      notify(t('models.deleted', { name: model.name }))
      await load()
    } catch (error) {
      notify((error as Error).message, 'error')
    }
  }

  const unbind = async (binding: Binding) => {
    if (
      !(await confirmAction(
        t('models.confirm_unbind', { model: binding.model, channel: binding.channel.name }),
        t('models.unbind'),
      ))
    )
      return
    try {
      const models = binding.channel.models.filter(m => m.model !== binding.model)
      await api('PUT', `/api/admin/channels/${binding.channel.id}`, { models })
      notify(t('models.unbound', { model: binding.model, channel: binding.channel.name }))
      await load()
    } catch (error) {
      notify((error as Error).message, 'error')
    }
  }

  void load()
}

/** Every channel, page by page (the catalog is small; the API pages at 100). */
export async function allChannels(): Promise<Channel[]> {
  const channels: Channel[] = []
  for (let page = 1; ; page++) {
    const list = await api<Page<Channel>>('GET', `/api/admin/channels?page=${page}&page_size=100`)
    channels.push(...list.items)
    if (channels.length >= list.total || list.items.length === 0) return channels
  }
}

async function editModel(model: Model | undefined, saved: () => Promise<void>): Promise<void> {
  const name = h('input', { required: true, maxlength: 191, value: model?.name ?? '', readonly: model !== undefined })
  const display = h('input', { maxlength: 191, value: model?.display_name ?? '' })
  const reasoning = h('input', { type: 'checkbox', checked: model?.reasoning ?? false })
  const vision = h('input', { type: 'checkbox', checked: model?.vision ?? false })
  const enabled = h('input', { type: 'checkbox', checked: model?.enabled ?? true })
  dialogForm({
    title: model ? t('models.edit_title', { name: model.name }) : t('models.create'),
    role: 'model-form',
    fields: [
      field('name', t('models.name'), name),
      field('display_name', t('models.display_name'), display),
      field('reasoning', t('models.reasoning'), reasoning),
      field('vision', t('models.vision'), vision),
      field('enabled', t('common.enabled'), enabled),
    ],
    fieldsOfCode: { PARLEY_ERR_CATALOG_MODEL_EXISTS: 'name' },
    async save() {
      const body = {
        display_name: display.value.trim() || name.value.trim(),
        reasoning: reasoning.checked,
        vision: vision.checked,
        enabled: enabled.checked,
      }
      if (model) await api('PUT', `/api/admin/models/${encodeURIComponent(model.name)}`, body)
      else await api('POST', '/api/admin/models', { name: name.value.trim(), ...body })
      notify(t('models.saved', { name: name.value.trim() }))
      await saved()
    },
  })
}

/** Adds `alias → upstream model` to one channel's list. */
async function bind(channels: readonly Channel[], models: readonly Model[], saved: () => Promise<void>): Promise<void> {
  const alias = h('input', { required: true, maxlength: 191, list: 'admin-model-names' })
  const names = h('datalist', { id: 'admin-model-names' }, ...models.map(m => h('option', { value: m.name })))
  const channel = h('select', {}, ...channels.map(c => h('option', { value: String(c.id) }, c.name)))
  const upstream = h('input', { maxlength: 191, placeholder: t('models.upstream_placeholder') })
  dialogForm({
    title: t('models.bind'),
    role: 'bind-form',
    fields: [
      field('model', t('models.alias'), alias),
      names,
      field('channel', t('models.channel'), channel),
      field('upstream_model', t('models.upstream_model'), upstream, t('models.upstream_help')),
    ],
    saveLabel: t('models.bind'),
    fieldsOfCode: { PARLEY_ERR_CATALOG_MODEL_TWICE: 'model' },
    async save() {
      const target = channels.find(c => String(c.id) === channel.value)
      const model = alias.value.trim()
      if (!target || !model) throw new Error(t('models.bind_incomplete'))
      const models = [
        ...target.models.filter(m => m.model !== model),
        { model, upstream_model: upstream.value.trim() || model },
      ]
      await api('PUT', `/api/admin/channels/${target.id}`, { models })
      notify(t('models.bound', { model, channel: target.name }))
      await saved()
    },
  })
}
