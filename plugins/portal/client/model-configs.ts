import { element, role, showError, text } from './dom.js'
import { ApiError, sessionJson } from './session.js'

/*
 * The user's own model configs (the model-configs plugin's API): a card per config with its
 * model, base URL and key hint (never the key), and add, change, test and delete. The key field
 * is empty when changing a config: left empty, the stored key stays.
 */

interface Parameters {
  temperature?: number
  top_p?: number
  max_tokens?: number
  system_prompt?: string
}

interface Config {
  readonly id: number
  readonly name: string
  readonly base_url: string
  readonly model: string
  readonly key_hint: string
  readonly parameters: Parameters
}

/** A text of this page (`data-role="mine-texts"`), `{name}` filled from `values`. */
function say(key: string, values: Record<string, string | number> = {}): string {
  const raw = document.querySelector(`[data-role="mine-texts"] [data-text="${key}"]`)?.textContent ?? key
  return raw.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole))
}

export async function startModelConfigs(root: HTMLElement): Promise<void> {
  const list = role<HTMLUListElement>(root, 'configs')
  const form = role<HTMLFormElement>(root, 'form')
  const error = role(root, 'error')
  const quota = role(root, 'quota')
  const add = root.querySelector<HTMLButtonElement>('[data-action="add"]')!
  const key = form.querySelector<HTMLInputElement>('input[name="api_key"]')!
  let editing: Config | undefined

  const guarded = (action: () => Promise<void>) => () =>
    void action().catch((failure: unknown) =>
      showError(error, failure instanceof ApiError ? failure.message : String(failure)),
    )

  const open = (config?: Config) => {
    editing = config
    form.reset()
    role(form, 'form-title').textContent = say(config ? 'mine_edit_title' : 'mine_add_title', {
      name: config?.name ?? '',
    })
    key.required = !config
    key.placeholder = config ? `${key.dataset.keep ?? ''} (${config.key_hint})` : (key.dataset.new ?? '')
    if (config) {
      for (const [name, value] of Object.entries({ ...config, ...config.parameters })) {
        const field = form.elements.namedItem(name)
        if (field instanceof HTMLInputElement || field instanceof HTMLTextAreaElement) field.value = String(value)
      }
      key.value = ''
    }
    form.hidden = false
    form.querySelector<HTMLInputElement>('input[name="name"]')?.focus()
  }
  const close = () => {
    form.hidden = true
    editing = undefined
  }

  const refresh = async () => {
    const [{ items }, allowance] = await Promise.all([
      sessionJson<{ items: Config[] }>('GET', '/api/model-configs?page_size=100'),
      sessionJson<{ can_create: boolean; limit: number; used: number }>('POST', '/api/model-configs/can-create'),
    ])
    quota.textContent = say('mine_quota', { used: allowance.used, limit: allowance.limit })
    add.disabled = !allowance.can_create
    role(root, 'empty').hidden = items.length > 0
    list.replaceChildren(...items.map(card))
  }

  const card = (config: Config): HTMLLIElement => {
    const item = element('li', { className: 'model-card' })
    item.dataset.config = String(config.id)
    const details = element('p', { className: 'model-id' })
    details.append(
      element('code', { text: config.model }),
      document.createTextNode(' · '),
      element('span', { className: 'config-url', text: config.base_url }),
      document.createTextNode(` · ${say('mine_key')} `),
      element('code', { text: config.key_hint }),
    )
    const result = element('p', { className: 'form-status config-test', attributes: { 'aria-live': 'polite' } })
    const actions = element('div', { className: 'model-actions' })
    const button = (label: string, className: string, run: () => Promise<void>) => {
      const node = element('button', { className, text: label, attributes: { type: 'button' } })
      node.addEventListener('click', guarded(run))
      actions.append(node)
      return node
    }
    actions.append(
      element('a', {
        className: 'btn btn-primary',
        text: say('mine_chat'),
        attributes: { href: `/chat?model=${encodeURIComponent(`personal:${config.id}`)}` },
      }),
    )
    const test = button(say('mine_test'), 'btn', async () => {
      test.disabled = true
      result.textContent = say('mine_testing')
      try {
        const answer = await sessionJson<{ choices?: Array<{ message?: { content?: string } }> }>(
          'POST',
          `/api/model-configs/${config.id}/test`,
        )
        result.textContent = say('mine_test_ok', { answer: answer.choices?.[0]?.message?.content?.trim() ?? '' })
      } catch (failure) {
        result.textContent = failure instanceof ApiError ? failure.message : String(failure)
      } finally {
        test.disabled = false
      }
    })
    button(say('mine_edit'), 'btn', async () => open(config))
    button(text('delete'), 'btn btn-quiet', async () => {
      if (!confirm(say('mine_confirm_delete', { name: config.name }))) return
      await sessionJson('POST', '/api/model-configs/delete', { ids: [config.id] })
      if (editing?.id === config.id) close()
      await refresh()
    })
    item.append(element('h2', { className: 'model-name', text: config.name }), details, actions, result)
    return item
  }

  add.addEventListener('click', () => open())
  root.querySelector('[data-action="cancel"]')?.addEventListener('click', close)
  form.addEventListener('submit', event => {
    event.preventDefault()
    guarded(async () => {
      showError(error, '')
      const body = bodyOf(new FormData(form), editing === undefined)
      if (editing) await sessionJson('PUT', `/api/model-configs/${editing.id}`, body)
      else await sessionJson('POST', '/api/model-configs', body)
      close()
      await refresh()
    })()
  })
  try {
    await refresh()
  } catch (failure) {
    // The gateway runs without the model-configs plugin: say so instead of an error dialog.
    if (!(failure instanceof ApiError) || failure.status !== 404) throw failure
    add.hidden = true
    quota.textContent = say('mine_unavailable')
  }
  root.dataset.ready = 'true'
}

/** The form as the API wants it: numbers as numbers, empty fields left out (an empty key keeps the stored one). */
function bodyOf(fields: FormData, creating: boolean): Record<string, unknown> {
  const value = (name: string) => String(fields.get(name) ?? '').trim()
  const parameters: Parameters = {}
  for (const name of ['temperature', 'top_p', 'max_tokens'] as const)
    if (value(name) !== '') parameters[name] = Number(value(name))
  if (value('system_prompt') !== '') parameters.system_prompt = value('system_prompt')
  const body: Record<string, unknown> = {
    name: value('name'),
    base_url: value('base_url'),
    model: value('model'),
    parameters,
  }
  if (creating || value('api_key') !== '') body.api_key = value('api_key')
  return body
}
