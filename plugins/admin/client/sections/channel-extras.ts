import type { ChannelTestView, ChannelTimeouts, ChannelView } from '@parley/core/wire'
import { api, type Page } from '../api.js'
import { h, replace } from '../dom.js'
import { t } from '../i18n.js'
import { badge, button, field, openDialog, submitRow, table, when } from '../ui.js'

/*
 * The channel form's helpers beyond plain fields: the upstream's model list to pick from, the
 * channel's own timeouts, keys the gateway disabled, and the test of any model.
 */

type Channel = ChannelView

/** What each provider appends to the base URL: the placeholder shows where to stop. */
const BASE_URL_EXAMPLES: Readonly<Record<string, string>> = {
  openai: 'https://api.openai.com/v1',
  coze: 'https://api.coze.cn',
}

export function baseUrlExample(provider: string): string {
  return BASE_URL_EXAMPLES[provider] ?? 'https://api.example.com/v1'
}

/** Connect, first-byte and idle timeouts in ms; empty: the gateway's. */
export function timeoutFields(channel: Channel | undefined): { element: HTMLElement; read(): ChannelTimeouts } {
  const input = (value: number | null | undefined, max: number) =>
    h('input', {
      type: 'number',
      min: 100,
      max,
      step: 100,
      inputmode: 'numeric',
      placeholder: t('channels.timeout_default'),
      value: value ?? undefined,
    })
  const connect = input(channel?.timeouts?.connect_ms, 600_000)
  const firstByte = input(channel?.timeouts?.first_byte_ms, 3_600_000)
  const idle = input(channel?.timeouts?.idle_ms, 3_600_000)
  const number = (control: HTMLInputElement) => (control.value.trim() === '' ? null : Number(control.value))
  return {
    element: h(
      'fieldset',
      { class: 'admin-fieldset', 'data-field': 'timeouts' },
      h('legend', {}, t('channels.timeouts')),
      h('p', { class: 'admin-help' }, t('channels.timeouts_help')),
      h(
        'div',
        { class: 'admin-grid-3' },
        field('timeouts.connect_ms', t('channels.timeout_connect'), connect),
        field('timeouts.first_byte_ms', t('channels.timeout_first_byte'), firstByte),
        field('timeouts.idle_ms', t('channels.timeout_idle'), idle),
      ),
    ),
    read: () => ({ connect_ms: number(connect), first_byte_ms: number(firstByte), idle_ms: number(idle) }),
  }
}

/**
 * "Fetch models": the upstream's list (through the provider, with the form's base URL and key,
 * or the saved channel's), as checkboxes; the checked ones are added to the models field.
 */
export function modelPicker(models: HTMLTextAreaElement, request: () => Record<string, unknown>): HTMLElement {
  const status = h('p', {
    class: 'admin-field-error',
    'data-role': 'fetch-error',
    role: 'alert',
    tabindex: -1,
    hidden: true,
  })
  const list = h('div', { class: 'admin-model-picker', 'data-role': 'upstream-models', hidden: true })
  const fetchButton = button(t('channels.fetch_models'), 'fetch-models', () => void fetchModels())
  const fetchModels = async () => {
    status.hidden = true
    fetchButton.setAttribute('aria-busy', 'true')
    try {
      const answer = await api<Page<{ id: string }>>('POST', '/api/admin/channels/upstream-models', request())
      draw(answer.items.map(item => item.id))
    } catch (error) {
      list.hidden = true
      status.textContent = (error as Error).message
      status.hidden = false
      status.focus()
    } finally {
      fetchButton.removeAttribute('aria-busy')
    }
  }
  const draw = (ids: string[]) => {
    const present = new Set(lines(models.value).map(line => line.split('=')[0]?.trim()))
    const boxes = ids.map(id => {
      const box = h('input', { type: 'checkbox', value: id, checked: present.has(id), disabled: present.has(id) })
      return h('label', { class: 'admin-model-option' }, box, h('code', {}, id))
    })
    const add = () => {
      const chosen = boxes
        .map(label => label.querySelector('input') as HTMLInputElement)
        .filter(box => box.checked && !box.disabled)
        .map(box => box.value)
      models.value = [...lines(models.value), ...chosen].join('\n')
      list.hidden = true
      models.focus()
    }
    const all = () => {
      for (const label of boxes) (label.querySelector('input') as HTMLInputElement).checked = true
    }
    replace(
      list,
      h('p', { class: 'admin-help' }, t('channels.fetched_models', { count: ids.length })),
      h('div', { class: 'admin-model-options' }, ...boxes),
      h(
        'div',
        { class: 'admin-actions' },
        button(t('channels.select_all'), 'select-all-models', all),
        button(t('channels.add_models'), 'add-models', add, 'primary'),
      ),
    )
    list.hidden = false
    ;(
      boxes.find(label => !(label.querySelector('input') as HTMLInputElement).disabled)?.querySelector('input') ?? list
    ).focus()
  }
  return h('div', { class: 'admin-fetch-models' }, fetchButton, status, list)
}

/** A key's state in the form: on, off, or disabled by the gateway (with when). */
export function keyState(key: Channel['keys'][number]): HTMLElement | string {
  if (key.disabled_reason === 'auth')
    return badge(t('channels.key_auto_disabled', { when: when(key.disabled_at) }), 'warn')
  return ''
}

/** Above the list: keys the gateway disabled after repeated auth refusals. */
export function autoDisabledNotice(channels: readonly Channel[]): HTMLElement | null {
  const disabled = channels.flatMap(channel =>
    channel.keys.filter(key => key.disabled_reason === 'auth').map(key => ({ channel, key })),
  )
  if (disabled.length === 0) return null
  return h(
    'div',
    { class: 'admin-banner admin-banner-warn', role: 'status', 'data-role': 'auto-disabled' },
    h('strong', {}, t('channels.auto_disabled_title', { count: disabled.length })),
    h(
      'ul',
      {},
      ...disabled.map(({ channel, key }) =>
        h(
          'li',
          {},
          t('channels.auto_disabled_item', { channel: channel.name, hint: key.hint, when: when(key.disabled_at) }),
        ),
      ),
    ),
    h('p', { class: 'admin-help' }, t('channels.auto_disabled_help')),
  )
}

/** A real round trip through each key with a model of the admin's choice, each key's result and latency. */
export async function testChannel(channel: Channel): Promise<void> {
  const model = h('select', {}, ...channel.models.map(binding => h('option', { value: binding.model }, binding.model)))
  const typed = h('input', { maxlength: 191, spellcheck: 'false', placeholder: t('channels.test_model_placeholder') })
  const output = h('div', { class: 'admin-test-result', 'data-role': 'test-result', 'aria-live': 'polite' })
  const run = async () => {
    replace(output, h('p', { class: 'admin-muted' }, t('channels.testing')))
    const chosen = typed.value.trim() || model.value
    try {
      const result = await api<ChannelTestView>(
        'POST',
        `/api/admin/channels/${channel.id}/test`,
        chosen ? { model: chosen } : {},
      )
      replace(output, ...verdict(result))
    } catch (error) {
      replace(output, h('p', { class: 'admin-error', role: 'alert', tabindex: -1 }, (error as Error).message))
      ;(output.firstElementChild as HTMLElement).focus()
    }
  }
  const dialog = openDialog(
    t('channels.test_title', { name: channel.name }),
    h(
      'div',
      { class: 'admin-form', 'data-role': 'test-form' },
      channel.models.length > 0 ? field('test_model', t('channels.test_with'), model) : null,
      field('test_model_other', t('channels.test_other_model'), typed),
      output,
      submitRow(
        button(t('common.close'), 'close', () => dialog.close()),
        button(t('channels.run_test'), 'run-test', () => void run(), 'primary'),
      ),
    ),
  )
  await run()
}

function verdict(result: ChannelTestView): HTMLElement[] {
  return [
    h(
      'p',
      { 'data-role': 'test-verdict', 'data-ok': String(result.ok) },
      result.ok ? badge(t('channels.test_ok')) : badge(t('channels.test_failed'), 'error'),
      ' ',
      t('channels.test_model', { model: result.upstream_model }),
    ),
    table(
      [
        { label: t('channels.key'), cell: r => r.hint ?? '—' },
        {
          label: t('channels.state'),
          cell: r => (r.ok ? badge('OK') : badge(r.status ? `HTTP ${r.status}` : t('channels.test_failed'), 'error')),
        },
        { label: t('channels.latency'), cell: r => `${r.latency_ms} ms` },
        { label: t('channels.detail'), cell: r => r.error ?? r.reply ?? '' },
      ],
      result.results,
      { role: 'test-results' },
    ),
  ]
}

export function lines(text: string): string[] {
  return text
    .split('\n')
    .map(line => line.trim())
    .filter(Boolean)
}
