import type { CallWatch, KeyValueStore, Logger } from '@parley/core'
import type { WidgetSession } from './sessions.js'

/** The token of the conversations plugin's service (plugins/conversations). */
export const CONVERSATIONS = Symbol.for('parley.conversations')
/** How long a user's widget conversation goes on before a new one starts. */
const CONVERSATION_TTL_MS = 24 * 3600 * 1000

type Owner = { readonly kind: 'widget'; readonly id: string }
type Status = 'completed' | 'failed' | 'stopped'

/** What the widget uses of the conversations service: its own owners' conversations only. */
export interface TranscriptStore {
  create(owner: Owner, input: { model?: string | null; title?: string }): Promise<{ id: number }>
  addMessage(
    owner: Owner,
    conversationId: number,
    message: { role: 'user' | 'assistant'; content: string; status?: 'in_progress' | 'completed' },
  ): Promise<{ id: number }>
  finishMessage(
    messageId: number,
    end: {
      status: Status
      content?: string
      usage?: { promptTokens: number; completionTokens: number }
      errorType?: string | null
    },
  ): Promise<boolean>
  list(
    filter: { ownerKind: 'widget'; ownerIdPrefix: string },
    paging: { page: number; pageSize: number },
  ): Promise<{ items: readonly StoredConversation[]; total: number }>
  messages(
    owner: Owner,
    conversationId: number,
    paging: { page: number; pageSize: number },
  ): Promise<{ items: readonly StoredMessage[]; total: number }>
}

export interface StoredConversation {
  readonly id: number
  readonly owner: { readonly kind: string; readonly id: string }
  readonly title: string
  readonly createdAt: Date
  readonly updatedAt: Date
}

export interface StoredMessage {
  readonly id: number
  readonly role: string
  readonly content: unknown
  readonly status: string
  readonly createdAt: Date
}

/** One exchange being written: the question stored, the answer `in_progress` until the call ends. */
export interface Transcript {
  readonly watch: CallWatch
  /** The call was refused before any answer: the answer is stored as failed. */
  refused(errorType: string): void
}

/**
 * Widget transcripts through the conversations service, when a client has them on: each
 * external user has one conversation (owner `widget`, `<client_id>:<external_user_id>`) that
 * goes on for a day; the question is stored when it arrives, the answer when it ends.
 */
export class Transcripts {
  constructor(
    private readonly store: () => TranscriptStore | undefined,
    private readonly kv: KeyValueStore,
    private readonly log: Logger,
  ) {}

  get available(): boolean {
    return this.store() !== undefined
  }

  async begin(session: WidgetSession, model: string, question: string): Promise<Transcript | undefined> {
    const store = this.store()
    if (!store) return undefined
    const owner: Owner = { kind: 'widget', id: `${session.clientId}:${session.externalUserId}` }
    try {
      const conversationId = await this.conversationOf(store, owner, model, question)
      await store.addMessage(owner, conversationId, { role: 'user', content: question })
      const answer = await store.addMessage(owner, conversationId, {
        role: 'assistant',
        content: '',
        status: 'in_progress',
      })
      return this.follow(store, answer.id)
    } catch (error) {
      this.log.warn({ err: error, widget_client: session.clientId }, 'widget transcript not stored')
      return undefined
    }
  }

  private async conversationOf(store: TranscriptStore, owner: Owner, model: string, question: string): Promise<number> {
    const key = `widget:conversation:${owner.id}`
    const known = await this.kv.get(key)
    if (known !== null) return Number(known)
    const created = await store.create(owner, { model, title: question.slice(0, 80) })
    await this.kv.set(key, String(created.id), { ttlMs: CONVERSATION_TTL_MS })
    return created.id
  }

  private follow(store: TranscriptStore, messageId: number): Transcript {
    let text = ''
    const finish = (end: Parameters<TranscriptStore['finishMessage']>[1]) =>
      void store
        .finishMessage(messageId, end)
        .catch(error => this.log.warn({ err: error }, 'widget transcript answer not stored'))
    return {
      watch: {
        output: piece => {
          if (piece.type === 'text') text += piece.text
        },
        ended: end =>
          finish({
            status: end.status === 'success' ? 'completed' : end.status === 'aborted' ? 'stopped' : 'failed',
            content: text,
            usage: { promptTokens: end.promptTokens, completionTokens: end.completionTokens },
            errorType: end.errorType,
          }),
      },
      refused: errorType => finish({ status: 'failed', content: '', errorType }),
    }
  }
}
