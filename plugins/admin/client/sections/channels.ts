import type { ChannelView, ProviderView } from '@parley/core/wire'
import { api, query, type Page } from '../api.js'
import { h, replace } from '../dom.js'
import { t } from '../i18n.js'
import { objectFields, readFields, type GeneratedField, type JsonSchema } from '../schema-form.js'
import {
  autoDisabledNotice,
  baseUrlExample,
  keyState,
  lines,
  modelPicker,
  testChannel,
  timeoutFields,
} from './channel-extras.js'
import { badge, button, confirmAction, dialogForm, field, header, notify, pager, render, table } from '../ui.js'

export type Channel = ChannelView

const PAGE_SIZE = 20
/** Server refusals that are about one field of the form. */
const FIELD_OF_CODE: Readonly<Record<string, string>> = {
  PARLEY_ERR_CATALOG_CHANNEL_NAME_TAKEN: 'name',
  PARLEY_ERR_UPSTREAM_URL_INVALID: 'base_url',
  PARLEY_ERR_UPSTREAM_ADDRESS_FORBIDDEN: 'base_url',
  PARLEY_ERR_UPSTREAM_CONNECT_FORBIDDEN: 'base_url',
  PARLEY_ERR_CATALOG_MODEL_TWICE: 'models',
  PARLEY_ERR_CATALOG_PROVIDER_UNKNOWN: 'provider',
  PARLEY_ERR_CATALOG_HEADER_RESERVED: 'headers',
}

export function channelsSection(root: HTMLElement): void {
  let page = 1
  const load = () =>
    render(root, async () => {
      const [list, providers] = await Promise.all([
        api<Page<Channel>>('GET', `/api/admin/channels${query({ page, page_size: PAGE_SIZE })}`),
        api<Page<ProviderView>>('GET', '/api/admin/providers'),
      ])
      const columns = [
        { label: t('channels.name'), cell: (c: Channel) => h('strong', {}, c.name) },
        { label: t('channels.provider'), cell: (c: Channel) => c.provider },
        { label: t('channels.base_url'), cell: (c: Channel) => h('code', {}, c.base_url) },
        { label: t('channels.models'), cell: (c: Channel) => c.models.map(m => m.model).join(', ') || '—' },
        {
          label: t('channels.keys'),
          cell: (c: Channel) =>
            h(
              'span',
              {},
              t('channels.keys_count', { enabled: c.keys.filter(k => k.enabled).length, total: c.keys.length }),
              c.keys.some(k => k.disabled_reason === 'auth') ? ' ' : null,
              c.keys.some(k => k.disabled_reason === 'auth') ? badge(t('channels.keys_auto_disabled'), 'warn') : null,
            ),
        },
        { label: t('channels.groups'), cell: (c: Channel) => c.groups.join(', ') },
        { label: t('channels.priority_weight'), cell: (c: Channel) => `${c.priority} / ${c.weight}` },
        { label: t('channels.rpm'), cell: (c: Channel) => (c.rpm_limit === 0 ? t('common.unlimited') : c.rpm_limit) },
        {
          label: t('channels.state'),
          cell: (c: Channel) => (c.enabled ? badge(t('common.enabled')) : badge(t('common.disabled'), 'off')),
        },
        {
          label: t('common.actions'),
          cell: (c: Channel) =>
            h(
              'div',
              { class: 'admin-row-actions' },
              button(t('channels.test'), 'test', () => void testChannel(c)),
              button(t('common.edit'), 'edit', () => void editChannel(providers.items, c, load)),
              button(c.enabled ? t('common.disable') : t('common.enable'), 'toggle', () => void toggle(c)),
              button(t('common.delete'), 'delete', () => void remove(c), 'danger'),
            ),
        },
      ]
      return h(
        'div',
        {},
        header(
          t('channels.title'),
          button(
            t('channels.create'),
            'create-channel',
            () => void editChannel(providers.items, undefined, load),
            'primary',
          ),
        ),
        autoDisabledNotice(list.items),
        table(columns, list.items, { role: 'channels', rowKey: c => c.name }),
        pager(page, PAGE_SIZE, list.total, next => ((page = next), void load())),
      )
    })

  const toggle = async (channel: Channel) => {
    try {
      await api('PUT', `/api/admin/channels/${channel.id}`, { enabled: !channel.enabled })
      notify(t(channel.enabled ? 'channels.disabled' : 'channels.enabled', { name: channel.name }))
      await load()
    } catch (error) {
      notify((error as Error).message, 'error')
    }
  }

  const remove = async (channel: Channel) => {
    if (!(await confirmAction(t('channels.confirm_delete', { name: channel.name })))) return
    try {
      await api('DELETE', `/api/admin/channels/${channel.id}`)
      notify(t('channels.deleted', { name: channel.name }))
      await load()
    } catch (error) {
      notify((error as Error).message, 'error')
    }
  }

  void load()
}

/** Create (no channel) or edit; provider settings are generated from the provider's schema. */
async function editChannel(
  providers: readonly ProviderView[],
  channel: Channel | undefined,
  saved: () => Promise<void>,
): Promise<void> {
  const name = h('input', { required: true, maxlength: 100 })
  const provider = h('select', {}, ...providers.map(p => h('option', { value: p.id }, p.id)))
  const baseUrl = h('input', { type: 'url', required: true, maxlength: 500 })
  const newKeys = h('textarea', {
    rows: 3,
    spellcheck: 'false',
    autocomplete: 'off',
    placeholder: t('channels.keys_placeholder'),
  })
  const models = h('textarea', { rows: 3, spellcheck: 'false', placeholder: t('channels.models_placeholder') })
  const groups = h('input', { value: 'default' })
  const rpm = h('input', { type: 'number', min: 0, value: 0 })
  const priority = h('input', { type: 'number', min: -1000, max: 1000, value: 0 })
  const weight = h('input', { type: 'number', min: 1, max: 1000, value: 1 })
  const enabled = h('input', { type: 'checkbox', checked: true })
  const images = h(
    'select',
    {},
    ...(['auto', 'url', 'inline'] as const).map(value => h('option', { value }, t(`channels.images_${value}`))),
  )
  const keyRows = (channel?.keys ?? []).map(key => ({
    key,
    enabled: h('input', {
      type: 'checkbox',
      checked: key.enabled,
      'aria-label': t('channels.key_enabled', { hint: key.hint }),
    }),
    remove: h('input', { type: 'checkbox', 'aria-label': t('channels.key_remove', { hint: key.hint }) }),
  }))
  if (channel) {
    name.value = channel.name
    provider.value = channel.provider
    provider.disabled = true
    baseUrl.value = channel.base_url
    models.value = channel.models
      .map(m => (m.model === m.upstream_model ? m.model : `${m.model} = ${m.upstream_model}`))
      .join('\n')
    groups.value = channel.groups.join(', ')
    rpm.value = String(channel.rpm_limit)
    priority.value = String(channel.priority)
    weight.value = String(channel.weight)
    enabled.checked = channel.enabled
    images.value = channel.image_delivery
  }
  const settingsBox = h('fieldset', { class: 'admin-fieldset', 'data-role': 'provider-settings' })
  let settingFields: GeneratedField[] = []
  const drawSettings = () => {
    const chosen = providers.find(p => p.id === provider.value)
    settingFields = objectFields(
      (chosen?.settings_schema ?? null) as JsonSchema | null,
      channel?.provider === provider.value ? channel.settings : {},
      chosen?.secret_settings ?? [],
    )
    replace(
      settingsBox,
      h('legend', {}, t('channels.provider_settings', { provider: provider.value })),
      ...(settingFields.length
        ? settingFields.map(f => f.element)
        : [h('p', { class: 'admin-muted' }, t('channels.no_settings'))]),
    )
  }
  provider.addEventListener('change', drawSettings)
  drawSettings()
  const placeholder = () => baseUrl.setAttribute('placeholder', baseUrlExample(provider.value))
  provider.addEventListener('change', placeholder)
  placeholder()
  const timeouts = timeoutFields(channel)
  const picker = modelPicker(models, () => {
    const key = lines(newKeys.value)[0]
    return {
      ...(channel ? { channel_id: channel.id } : { provider: provider.value }),
      ...(baseUrl.value.trim() ? { base_url: baseUrl.value.trim() } : {}),
      ...(key ? { key } : {}),
      settings: readFields(settingFields) ?? {},
    }
  })

  const existingKeys = keyRows.length
    ? h(
        'div',
        { class: 'admin-field', 'data-field': 'keys' },
        h('span', { class: 'admin-label' }, t('channels.existing_keys')),
        table(
          [
            { label: t('channels.key'), cell: row => h('code', {}, row.key.hint) },
            { label: t('common.enabled'), cell: row => h('span', {}, row.enabled, ' ', keyState(row.key)) },
            { label: t('channels.remove'), cell: row => row.remove },
          ],
          keyRows,
          { role: 'keys' },
        ),
        h('p', { class: 'admin-field-error', 'data-role': 'field-error', role: 'alert', hidden: true }),
      )
    : null
  const fields = [
    field('name', t('channels.name'), name),
    field('provider', t('channels.provider'), provider),
    field('base_url', t('channels.base_url'), baseUrl, t('channels.base_url_help')),
    existingKeys,
    field(
      channel ? 'new_keys' : 'keys',
      channel ? t('channels.add_keys') : t('channels.keys'),
      newKeys,
      t('channels.keys_help'),
    ),
    field('models', t('channels.models'), models, t('channels.models_help')),
    picker,
    field('groups', t('channels.groups'), groups, t('channels.groups_help')),
    h(
      'div',
      { class: 'admin-grid-3' },
      field('rpm_limit', t('channels.rpm'), rpm, t('channels.rpm_help')),
      field('priority', t('channels.priority'), priority),
      field('weight', t('channels.weight'), weight),
    ),
    field('enabled', t('common.enabled'), enabled),
    timeouts.element,
    field('image_delivery', t('channels.images'), images, t('channels.images_help')),
    settingsBox,
  ]
  dialogForm({
    title: channel ? t('channels.edit_title', { name: channel.name }) : t('channels.create'),
    role: 'channel-form',
    fields,
    fieldsOfCode: FIELD_OF_CODE,
    async save() {
      const settings = readFields(settingFields)
      if (!settings) return false
      const added = lines(newKeys.value)
      const body: Record<string, unknown> = {
        name: name.value.trim(),
        base_url: baseUrl.value.trim(),
        models: lines(models.value).map(line => {
          const [alias, upstream] = line.split('=').map(part => part.trim())
          return upstream ? { model: alias, upstream_model: upstream } : alias
        }),
        groups: groups.value
          .split(',')
          .map(g => g.trim())
          .filter(Boolean),
        rpm_limit: Number(rpm.value || 0),
        priority: Number(priority.value || 0),
        weight: Number(weight.value || 1),
        enabled: enabled.checked,
        timeouts: timeouts.read(),
        image_delivery: images.value,
        settings,
      }
      if (channel)
        body.keys = [
          ...keyRows.filter(row => !row.remove.checked).map(row => ({ id: row.key.id, enabled: row.enabled.checked })),
          ...added,
        ]
      else {
        body.provider = provider.value
        body.keys = added
      }
      await api(channel ? 'PUT' : 'POST', channel ? `/api/admin/channels/${channel.id}` : '/api/admin/channels', body)
      notify(t('channels.saved', { name: String(body.name) }))
      await saved()
    },
  })
}
