import { api, type Page } from '../api.js'
import { h } from '../dom.js'
import { t } from '../i18n.js'
import { generateField, readFields, type GeneratedField, type JsonSchema } from '../schema-form.js'
import { formError, header, notify, onSubmit, render, submitRow } from '../ui.js'

/** One setting as `GET /api/admin/config/schema` describes it, its texts in the page's language. */
interface SettingInfo {
  key: string
  owner: string
  schema: JsonSchema
  default: unknown
  /** The label: the schema's `title` or its translation, never empty. */
  title: string
  description: string | null
  /** A select's option labels by value. */
  options: Record<string, string>
}

/**
 * Every runtime setting as a form generated from its schema, one form per owner: core, each
 * plugin, the active theme. Saving sends only what changed; the server checks all of it first.
 */
export function settingsSection(root: HTMLElement): void {
  const load = () =>
    render(root, async () => {
      const [schema, values] = await Promise.all([
        api<Page<SettingInfo>>('GET', '/api/admin/config/schema'),
        api<Record<string, unknown>>('GET', '/api/admin/config'),
      ])
      const owners = new Map<string, SettingInfo[]>()
      for (const setting of schema.items) owners.set(setting.owner, [...(owners.get(setting.owner) ?? []), setting])
      const order = (owner: string) => (owner === 'core' ? 0 : owner.startsWith('theme:') ? 2 : 1)
      const forms = [...owners.entries()]
        .sort(([a], [b]) => order(a) - order(b) || a.localeCompare(b))
        .map(([owner, settings]) => ownerForm(owner, settings, values, load))
      return h('div', {}, header(t('settings.title')), h('p', { class: 'admin-muted' }, t('settings.lead')), ...forms)
    })
  void load()
}

function ownerTitle(owner: string): string {
  if (owner === 'core') return t('settings.core')
  if (owner.startsWith('theme:')) return t('settings.theme', { name: owner.slice('theme:'.length) })
  return t('settings.plugin', { name: owner })
}

function ownerForm(
  owner: string,
  settings: readonly SettingInfo[],
  values: Record<string, unknown>,
  saved: () => Promise<void>,
): HTMLElement {
  const fields: GeneratedField[] = settings.map(setting =>
    generateField({
      name: setting.key,
      label: setting.title,
      schema: setting.schema,
      value: values[setting.key],
      optionLabels: setting.options,
      ...(setting.description ? { help: setting.description } : {}),
      required: true,
    }),
  )
  const form = h(
    'form',
    { class: 'admin-form admin-settings', novalidate: true, 'data-role': 'settings-form', 'data-owner': owner },
    h('h2', {}, ownerTitle(owner)),
    formError(),
    ...fields.map(f => f.element),
    submitRow(
      h(
        'button',
        { type: 'submit', class: 'admin-btn admin-btn-primary', 'data-action': 'save-settings' },
        t('common.save'),
      ),
    ),
  )
  onSubmit(form, async () => {
    const read = readFields(fields)
    if (!read) return false
    const changes = Object.fromEntries(
      Object.entries(read).filter(([key, value]) => JSON.stringify(value) !== JSON.stringify(values[key])),
    )
    if (Object.keys(changes).length === 0) return notify(t('settings.unchanged'))
    await api('PUT', '/api/admin/config', changes)
    notify(t('settings.saved'))
    await saved()
  })
  return form
}
