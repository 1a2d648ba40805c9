import { listModels } from './chat-api.js'
import { element, maybeRole, role, text } from './dom.js'
import { loadSession } from './session.js'

/*
 * The models page: what the catalog says of each model the caller may use (display name, id,
 * reasoning and vision). The catalog has no description column, so there is none to show.
 */

export async function startModels(root: HTMLElement): Promise<void> {
  const list = role<HTMLUListElement>(root, 'models')
  const models = await listModels()
  const mine = maybeRole(root, 'mine-link')
  if (mine && loadSession()) mine.hidden = false
  role(root, 'empty').hidden = models.length > 0
  list.replaceChildren(
    ...models.map(model => {
      const item = element('li', { className: 'model-card' })
      item.dataset.model = model.name
      const title = element('h2', { className: 'model-name', text: model.display_name || model.name })
      const id = element('p', { className: 'model-id' })
      id.append(
        element('span', { className: 'visually-hidden', text: `${text('model_id')}: ` }),
        element('code', { text: model.name }),
      )
      const flags = element('ul', {
        className: 'model-flags',
        attributes: { 'aria-label': model.display_name || model.name },
      })
      if (model.reasoning) flags.append(flag('reasoning', text('reasoning'), text('reasoning_help')))
      if (model.vision) flags.append(flag('vision', text('vision'), text('vision_help')))
      if (model.personal) flags.append(flag('personal', text('personal'), text('personal_help')))
      const actions = element('div', { className: 'model-actions' })
      actions.append(
        element('a', {
          className: 'btn btn-primary',
          text: text('chat_with'),
          attributes: { href: `/chat?model=${encodeURIComponent(model.name)}` },
        }),
      )
      const copy = element('button', {
        className: 'btn',
        text: text('copy_id'),
        attributes: { type: 'button', 'data-action': 'copy-id' },
      })
      copy.addEventListener('click', () => {
        void navigator.clipboard?.writeText(model.name).then(
          () => (copy.textContent = text('copied')),
          () => (copy.textContent = text('copy_failed')),
        )
      })
      // A personal model's id works in the portal only: nothing to copy into another client.
      if (!model.personal) actions.append(copy)
      item.append(title, id)
      if (flags.childElementCount > 0) item.append(flags)
      item.append(actions)
      return item
    }),
  )
  root.dataset.ready = 'true'
}

function flag(kind: string, label: string, help: string): HTMLLIElement {
  const item = element('li', { className: `model-flag model-flag-${kind}`, text: label, attributes: { title: help } })
  item.dataset.flag = kind
  // Screen readers hear the help after the name ("Reasoning: thinks before…"); the eye gets it as a tooltip.
  const spoken = text('flag_help', { name: label, help })
  item.append(
    element('span', {
      className: 'visually-hidden',
      text: spoken.startsWith(label) ? spoken.slice(label.length) : ` ${help}`,
    }),
  )
  return item
}
