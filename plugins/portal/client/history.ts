/*
 * Conversation history by the `chat_history_mode` setting: `browser` keeps it in localStorage
 * (per signed-in user, or `guest`), `memory` only in this page. `server` arrives with the
 * conversations plugin; until then it behaves like `memory`.
 */

export interface StoredMessage {
  role: 'user' | 'assistant'
  content: string
  reasoning?: string
  /** Keys of the images attached to a question (chat-attach.ts); sent as `parley-object://` parts. */
  images?: string[]
}

export interface Conversation {
  readonly id: string
  title: string
  model: string
  updated: number
  messages: StoredMessage[]
  /** The chat's own system prompt and temperature (chat-settings.ts); absent: not set. */
  system?: string
  temperature?: number
}

export type HistoryMode = 'browser' | 'memory' | 'server'

const MAX_CONVERSATIONS = 100

export class History {
  #conversations: Conversation[]
  readonly persistent: boolean

  constructor(
    mode: HistoryMode,
    private readonly key: string,
  ) {
    this.persistent = mode === 'browser'
    this.#conversations = this.persistent ? read(key) : []
  }

  list(): readonly Conversation[] {
    return [...this.#conversations].sort((a, b) => b.updated - a.updated)
  }

  get(id: string): Conversation | undefined {
    return this.#conversations.find(conversation => conversation.id === id)
  }

  /** A new conversation, listed from its first save. */
  create(model: string, title: string): Conversation {
    return { id: newId(), title, model, updated: Date.now(), messages: [] }
  }

  save(conversation: Conversation): void {
    conversation.updated = Date.now()
    if (!this.#conversations.includes(conversation)) this.#conversations.push(conversation)
    this.#conversations = this.list().slice(0, MAX_CONVERSATIONS)
    this.#write()
  }

  clear(): void {
    this.#conversations = []
    if (this.persistent) localStorage.removeItem(this.key)
  }

  #write(): void {
    if (!this.persistent) return
    try {
      localStorage.setItem(this.key, JSON.stringify(this.#conversations))
    } catch {
      // quota full: keep the history of this page; the next save tries again
    }
  }
}

function read(key: string): Conversation[] {
  try {
    const parsed = JSON.parse(localStorage.getItem(key) ?? '[]') as unknown
    return Array.isArray(parsed)
      ? (parsed as Conversation[]).filter(c => typeof c?.id === 'string' && Array.isArray(c.messages))
      : []
  } catch {
    return []
  }
}

/** getRandomValues works on plain-http hosts too, where crypto.randomUUID is missing. */
function newId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(12)), byte => byte.toString(16).padStart(2, '0')).join('')
}
