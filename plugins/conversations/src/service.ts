import type { ChatContentPart } from '@parley/core'

/** The token under which the conversations plugin provides its `ConversationsService`. */
export const CONVERSATIONS = Symbol.for('parley.conversations')

/**
 * Whose conversation it is: a portal account (`user`, the user id) or an external user of a
 * widget client (`widget`, `<client_id>:<external_user_id>`). Every method that takes an owner
 * answers only that owner's conversations.
 */
export interface ConversationOwner {
  readonly kind: 'user' | 'widget'
  readonly id: string
}

export type MessageRole = 'system' | 'user' | 'assistant'
export type MessageStatus = 'in_progress' | 'completed' | 'failed' | 'stopped'
/** A string, or OpenAI content parts; images are stored as `parley-object://<key>`, never a URL. */
export type MessageContent = string | readonly ChatContentPart[]

export interface StoredConversation {
  readonly id: number
  readonly owner: ConversationOwner
  readonly model: string | null
  readonly modelConfigId: number | null
  readonly title: string
  /** `none`, `question` (first words), `generated` (the title job), `user` (renamed). */
  readonly titleSource: 'none' | 'question' | 'generated' | 'user'
  readonly archived: boolean
  readonly createdAt: Date
  readonly updatedAt: Date
}

export interface MessageUsage {
  readonly promptTokens: number
  readonly completionTokens: number
}

export interface StoredMessage {
  readonly id: number
  readonly conversationId: number
  readonly role: MessageRole
  readonly content: MessageContent
  readonly status: MessageStatus
  readonly usage: MessageUsage | null
  readonly errorType: string | null
  readonly createdAt: Date
}

export interface Paging {
  /** From 1. */
  readonly page: number
  /** 1 to 100. */
  readonly pageSize: number
}

export interface Paged<T> {
  readonly items: readonly T[]
  readonly total: number
  readonly page: number
  readonly pageSize: number
}

/** What `list` selects: one owner kind, then one owner, owners by prefix (a widget client's), or all. */
export interface ConversationFilter {
  readonly ownerKind: ConversationOwner['kind']
  readonly ownerId?: string
  /** e.g. `<client_id>:` for every external user of one widget client. */
  readonly ownerIdPrefix?: string
  /** Part of the title, case-insensitive. */
  readonly q?: string
  /** `exclude` (the default): active ones only; `include`: both; `only`: archived ones only. */
  readonly archived?: 'exclude' | 'include' | 'only'
}

export interface NewConversation {
  readonly model?: string | null
  readonly modelConfigId?: number | null
  readonly title?: string
}

export interface NewMessage {
  readonly role: MessageRole
  readonly content: MessageContent
  /** `completed` by default; an answer being streamed starts `in_progress`. */
  readonly status?: MessageStatus
}

export interface MessageEnd {
  readonly status: Exclude<MessageStatus, 'in_progress'>
  readonly content?: MessageContent
  readonly usage?: MessageUsage
  readonly errorType?: string | null
}

/**
 * Stored conversations for other plugins (`ctx.container.resolve(CONVERSATIONS)` in a plugin
 * that `requires: ['conversations']`). A conversation or message of another owner is
 * `PARLEY_ERR_CONVERSATION_NOT_FOUND` (404), exactly as one that does not exist.
 *
 * @example
 * const conversations = ctx.container.resolve<ConversationsService>(CONVERSATIONS)
 * const owner = { kind: 'widget', id: `${clientId}:${externalUserId}` } as const
 * const conversation = await conversations.create(owner, { model: 'gpt-4o-mini' })
 * await conversations.addMessage(owner, conversation.id, { role: 'user', content: 'Hello' })
 * const answer = await conversations.addMessage(owner, conversation.id, { role: 'assistant', content: '', status: 'in_progress' })
 * await conversations.finishMessage(answer.id, { status: 'completed', content: 'Hi!', usage: { promptTokens: 9, completionTokens: 2 } })
 */
export interface ConversationsService {
  create(owner: ConversationOwner, input: NewConversation): Promise<StoredConversation>
  /** The conversation, or undefined when it does not exist or is another owner's. */
  find(owner: ConversationOwner, id: number): Promise<StoredConversation | undefined>
  /** Sets a title chosen by the owner (`titleSource: 'user'`); the title job leaves it alone. */
  rename(owner: ConversationOwner, id: number, title: string): Promise<StoredConversation>
  /** Moves a conversation out of the list (`archived: true`) or back; its messages stay. */
  archive(owner: ConversationOwner, id: number, archived: boolean): Promise<StoredConversation>
  /** Deletes the owner's conversations among `ids` with their messages; others' are ignored. Emits `conversation.deleted`. */
  remove(owner: ConversationOwner, ids: readonly number[]): Promise<number>
  addMessage(owner: ConversationOwner, conversationId: number, message: NewMessage): Promise<StoredMessage>
  /** Ends an answer: its status, final content, usage and error. Only an `in_progress` message changes. */
  finishMessage(messageId: number, end: MessageEnd): Promise<boolean>
  /** Oldest first. */
  messages(owner: ConversationOwner, conversationId: number, paging: Paging): Promise<Paged<StoredMessage>>
  /** Newest activity first. */
  list(filter: ConversationFilter, paging: Paging): Promise<Paged<StoredConversation>>
}
