import { api } from '../api.js'
import { h } from '../dom.js'
import { t } from '../i18n.js'
import { button, confirmAction, dialogForm, field, header, notify, pagedTable, render } from '../ui.js'
import { allGroups, type Group } from './users.js'

/** Groups and their limits: requests per minute, allowed models, personal model configs. */
export function groupsSection(root: HTMLElement): void {
  const load = () =>
    render(root, async () => {
      const groups = await allGroups()
      return h(
        'div',
        {},
        header(
          t('groups.title'),
          button(t('groups.create'), 'create-group', () => void editGroup(undefined, load), 'primary'),
        ),
        pagedTable(
          [
            { label: t('groups.name'), cell: (g: Group) => h('strong', {}, g.name) },
            { label: t('groups.description'), cell: g => g.description },
            { label: t('groups.rpm'), cell: g => (g.rpm === null ? t('groups.rpm_default') : g.rpm) },
            {
              label: t('groups.models'),
              cell: g => (g.models === null ? t('groups.all_models') : g.models.join(', ') || t('groups.no_models')),
            },
            { label: t('groups.config_limit'), cell: g => g.model_config_limit },
            { label: t('groups.members'), cell: g => g.members },
            {
              label: t('common.actions'),
              cell: g =>
                h(
                  'div',
                  { class: 'admin-row-actions' },
                  button(t('common.edit'), 'edit', () => void editGroup(g, load)),
                  button(t('common.delete'), 'delete', () => void remove(g), 'danger'),
                ),
            },
          ],
          groups,
          { role: 'groups', rowKey: g => g.name },
        ),
      )
    })

  const remove = async (group: Group) => {
    if (!(await confirmAction(t('groups.confirm_delete', { name: group.name })))) return
    try {
      await api('DELETE', `/api/admin/groups/${encodeURIComponent(group.name)}`)
      notify(t('groups.deleted', { name: group.name }))
      await load()
    } catch (error) {
      notify((error as Error).message, 'error')
    }
  }
  void load()
}

async function editGroup(group: Group | undefined, saved: () => Promise<void>): Promise<void> {
  const name = h('input', { required: true, maxlength: 64, value: group?.name ?? '', readonly: group !== undefined })
  const description = h('input', { maxlength: 255, value: group?.description ?? '' })
  const rpm = h('input', { type: 'number', min: 1, value: group?.rpm ?? '', placeholder: t('groups.rpm_default') })
  // null (every enabled model) and [] (no model at all) differ, so the restriction is its own switch.
  const restricted = h('input', { type: 'checkbox', checked: group !== undefined && group.models !== null })
  const models = h('textarea', { rows: 3, placeholder: t('groups.models_placeholder') })
  models.value = group?.models?.join('\n') ?? ''
  const showModels = () => {
    models.disabled = !restricted.checked
  }
  restricted.addEventListener('change', showModels)
  showModels()
  const limit = h('input', { type: 'number', min: 0, value: group?.model_config_limit ?? 0 })
  dialogForm({
    title: group ? t('groups.edit_title', { name: group.name }) : t('groups.create'),
    role: 'group-form',
    fields: [
      field('name', t('groups.name'), name),
      field('description', t('groups.description'), description),
      field('rpm', t('groups.rpm'), rpm, t('groups.rpm_help')),
      field('models_restricted', t('groups.models_restricted'), restricted),
      field('models', t('groups.models'), models, t('groups.models_help')),
      field('model_config_limit', t('groups.config_limit'), limit),
    ],
    fieldsOfCode: { PARLEY_ERR_IDENTITY_GROUP_EXISTS: 'name' },
    async save() {
      const listed = models.value
        .split(/[\n,]/)
        .map(m => m.trim())
        .filter(Boolean)
      const body = {
        description: description.value.trim(),
        rpm: rpm.value.trim() === '' ? null : Number(rpm.value),
        models: restricted.checked ? listed : null,
        model_config_limit: Number(limit.value || 0),
      }
      if (group) await api('PUT', `/api/admin/groups/${encodeURIComponent(group.name)}`, body)
      else await api('POST', '/api/admin/groups', { name: name.value.trim(), ...body })
      notify(t('groups.saved', { name: name.value.trim() }))
      await saved()
    },
  })
}
