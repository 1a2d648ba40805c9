import { role } from './dom.js'

/*
 * A chat's own settings, in a small popover beside the model picker: a system prompt sent
 * first with every question and a sampling temperature (empty: the model's default). They
 * belong to the conversation and are kept with it (history.ts); a new chat starts empty.
 */

/** What a conversation keeps of its settings; absent: not set. */
export interface ChatTuning {
  system?: string
  temperature?: number
}

const MAX_SYSTEM = 8000

export class ChatSettingsPanel {
  readonly #button: HTMLButtonElement
  readonly #panel: HTMLElement
  readonly #system: HTMLTextAreaElement
  readonly #temperature: HTMLInputElement
  #changed: (() => void) | undefined

  constructor(root: ParentNode) {
    // Shown once something answers the button (the browser and memory history modes).
    role(root, 'chat-settings-box').hidden = false
    this.#button = role<HTMLButtonElement>(root, 'chat-settings-button')
    this.#panel = role(root, 'chat-settings')
    this.#system = role<HTMLTextAreaElement>(this.#panel, 'system-prompt')
    this.#temperature = role<HTMLInputElement>(this.#panel, 'temperature')
    this.#button.addEventListener('click', () => this.#toggle(this.#panel.hidden))
    role(this.#panel, 'chat-settings-close').addEventListener('click', () => this.#toggle(false, true))
    this.#panel.addEventListener('keydown', event => {
      if (event.key !== 'Escape') return
      // Esc closes the popover, not the answer that may be streaming (shortcuts.ts).
      event.stopPropagation()
      this.#toggle(false, true)
    })
    document.addEventListener('click', event => {
      const target = event.target as Node
      if (!this.#panel.hidden && !this.#panel.contains(target) && !this.#button.contains(target)) this.#toggle(false)
    })
    for (const control of [this.#system, this.#temperature])
      control.addEventListener('input', () => {
        this.#mark()
        this.#changed?.()
      })
  }

  /** Called after each edit (the page stores the conversation). */
  onChange(listener: () => void): void {
    this.#changed = listener
  }

  /** Shows a conversation's settings (none: a new chat's, empty). */
  show(tuning: ChatTuning | undefined): void {
    this.#system.value = tuning?.system ?? ''
    this.#temperature.value = tuning?.temperature === undefined ? '' : String(tuning.temperature)
    this.#mark()
  }

  /** The settings as they stand; an unreadable temperature is left out (the field says so). */
  read(): ChatTuning {
    const system = this.#system.value.trim().slice(0, MAX_SYSTEM)
    const raw = this.#temperature.value.trim()
    const temperature = raw === '' ? undefined : Number(raw)
    const valid = temperature !== undefined && Number.isFinite(temperature) && temperature >= 0 && temperature <= 2
    return { ...(system ? { system } : {}), ...(valid ? { temperature } : {}) }
  }

  /** Copies the settings onto the conversation, removing those not set. */
  applyTo(conversation: ChatTuning): void {
    const { system, temperature } = this.read()
    if (system === undefined) delete conversation.system
    else conversation.system = system
    if (temperature === undefined) delete conversation.temperature
    else conversation.temperature = temperature
  }

  #toggle(open: boolean, refocus = false): void {
    this.#panel.hidden = !open
    this.#button.setAttribute('aria-expanded', String(open))
    if (open) this.#system.focus()
    else if (refocus) this.#button.focus()
  }

  /** The button shows a dot while the chat has settings of its own. */
  #mark(): void {
    const { system, temperature } = this.read()
    this.#button.dataset.set = String(system !== undefined || temperature !== undefined)
    this.#temperature.setAttribute(
      'aria-invalid',
      String(this.#temperature.validity.badInput || !this.#temperatureOk()),
    )
  }

  #temperatureOk(): boolean {
    const raw = this.#temperature.value.trim()
    if (raw === '') return true
    const value = Number(raw)
    return Number.isFinite(value) && value >= 0 && value <= 2
  }
}
