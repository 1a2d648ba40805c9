import { raw } from '@mikro-orm/core'
import type { EntityManager, EventBus, InferEntity } from '@parley/core'
import { Conversation, ConversationMessage } from './entities.js'
import { conversationErrors } from './errors.js'
import type {
  ConversationFilter,
  ConversationOwner,
  ConversationsService,
  MessageContent,
  MessageEnd,
  NewConversation,
  NewMessage,
  Paged,
  Paging,
  StoredConversation,
  StoredMessage,
} from './service.js'

declare module '@parley/core' {
  interface ParleyEvents {
    /** Conversations were deleted (by their owner, "delete all" or retention): their images may go. */
    'conversation.deleted': { readonly owner: ConversationOwner; readonly ids: readonly number[] }
  }
}

export type ConversationRow = InferEntity<typeof Conversation>
export type MessageRow = InferEntity<typeof ConversationMessage>

const TITLE_MAX = 255

/** The `ConversationsService` on the database: every read and write filters on the owner. */
export class ConversationStore implements ConversationsService {
  constructor(
    private readonly em: () => EntityManager,
    private readonly events: EventBus,
    /** This instance's id, written on answers it streams (sweep.ts). */
    private readonly runner: string,
  ) {}

  async create(owner: ConversationOwner, input: NewConversation): Promise<StoredConversation> {
    const em = this.em()
    const title = (input.title ?? '').trim().slice(0, TITLE_MAX)
    const row = em.create(Conversation, {
      ownerKind: owner.kind,
      ownerId: owner.id,
      model: input.model ?? null,
      modelConfigId: input.modelConfigId ?? null,
      title,
      titleSource: title === '' ? 'none' : 'user',
      archived: false,
    })
    await em.flush()
    return conversationOf(row)
  }

  async find(owner: ConversationOwner, id: number): Promise<StoredConversation | undefined> {
    const row = await this.row(this.em(), owner, id)
    return row ? conversationOf(row) : undefined
  }

  /** By id alone, for this plugin's jobs (their data names a conversation already checked). */
  async byId(id: number): Promise<StoredConversation | undefined> {
    const row = await this.em().findOne(Conversation, { id })
    return row ? conversationOf(row) : undefined
  }

  /** The row, or undefined when it is absent or another owner's. */
  async row(em: EntityManager, owner: ConversationOwner, id: number): Promise<ConversationRow | undefined> {
    if (!Number.isSafeInteger(id) || id < 1) return undefined
    return (await em.findOne(Conversation, { id, ownerKind: owner.kind, ownerId: owner.id })) ?? undefined
  }

  async owned(em: EntityManager, owner: ConversationOwner, id: number): Promise<ConversationRow> {
    const row = await this.row(em, owner, id)
    if (!row) throw conversationErrors.PARLEY_ERR_CONVERSATION_NOT_FOUND({ id })
    return row
  }

  rename(owner: ConversationOwner, id: number, title: string): Promise<StoredConversation> {
    return this.update(owner, id, { title })
  }

  archive(owner: ConversationOwner, id: number, archived: boolean): Promise<StoredConversation> {
    return this.update(owner, id, { archived })
  }

  /** What the owner changes in one write: a title of their own (`titleSource: 'user'`), the archived flag. */
  async update(
    owner: ConversationOwner,
    id: number,
    changes: { readonly title?: string; readonly archived?: boolean },
  ): Promise<StoredConversation> {
    const em = this.em()
    const row = await this.owned(em, owner, id)
    if (changes.title !== undefined) {
      row.title = changes.title.trim().slice(0, TITLE_MAX)
      row.titleSource = 'user'
    }
    if (changes.archived !== undefined) row.archived = changes.archived
    await em.flush()
    return conversationOf(row)
  }

  /** Stores a title unless the owner chose one since (`titleSource` still one of `from`). */
  async retitle(
    id: number,
    title: string,
    source: 'question' | 'generated',
    from: readonly string[],
  ): Promise<boolean> {
    const changed = await this.em().nativeUpdate(
      Conversation,
      { id, titleSource: { $in: [...from] } },
      { title: title.slice(0, TITLE_MAX), titleSource: source },
    )
    return changed > 0
  }

  async remove(owner: ConversationOwner, ids: readonly number[]): Promise<number> {
    const wanted = [...new Set(ids)].filter(id => Number.isSafeInteger(id) && id > 0)
    if (wanted.length === 0) return 0
    const em = this.em()
    const rows = await em.find(
      Conversation,
      { id: { $in: wanted }, ownerKind: owner.kind, ownerId: owner.id },
      { fields: ['id'] },
    )
    const found = rows.map(row => row.id)
    if (found.length === 0) return 0
    await this.#delete(em, found)
    this.events.emit('conversation.deleted', { owner, ids: found })
    return found.length
  }

  /** Deletes conversations by id (already checked) with their messages, in one transaction. */
  async #delete(em: EntityManager, ids: readonly number[]): Promise<void> {
    await em.transactional(async tx => {
      await tx.nativeDelete(ConversationMessage, { conversationId: { $in: [...ids] } })
      await tx.nativeDelete(Conversation, { id: { $in: [...ids] } })
    })
  }

  /** Every conversation of one owner ("delete all"); returns how many went. */
  async removeAll(owner: ConversationOwner): Promise<number> {
    let total = 0
    for (;;) {
      const rows = await this.em().find(
        Conversation,
        { ownerKind: owner.kind, ownerId: owner.id },
        { fields: ['id'], limit: 500, orderBy: { id: 'asc' } },
      )
      if (rows.length === 0) return total
      const ids = rows.map(row => row.id)
      await this.#delete(this.em(), ids)
      this.events.emit('conversation.deleted', { owner, ids })
      total += ids.length
    }
  }

  /** Deletes conversations untouched since `before` (retention), `batchSize` at a time. */
  async removeIdleSince(before: Date, batchSize: number, signal: AbortSignal): Promise<number> {
    let total = 0
    while (!signal.aborted) {
      const rows = await this.em().find(
        Conversation,
        { updatedAt: { $lt: before } },
        { fields: ['id', 'ownerKind', 'ownerId'], limit: batchSize, orderBy: { updatedAt: 'asc' } },
      )
      if (rows.length === 0) break
      await this.#delete(
        this.em(),
        rows.map(row => row.id),
      )
      for (const row of rows)
        this.events.emit('conversation.deleted', {
          owner: { kind: row.ownerKind as ConversationOwner['kind'], id: row.ownerId },
          ids: [row.id],
        })
      total += rows.length
      if (rows.length < batchSize) break
    }
    return total
  }

  async addMessage(owner: ConversationOwner, conversationId: number, message: NewMessage): Promise<StoredMessage> {
    const em = this.em()
    const conversation = await this.owned(em, owner, conversationId)
    const row = em.create(ConversationMessage, {
      conversationId: conversation.id,
      role: message.role,
      content: JSON.stringify(message.content),
      status: message.status ?? 'completed',
      promptTokens: null,
      completionTokens: null,
      errorType: null,
      runner: message.status === 'in_progress' ? this.runner : null,
    })
    conversation.updatedAt = new Date()
    await em.flush()
    return messageOf(row)
  }

  async finishMessage(messageId: number, end: MessageEnd): Promise<boolean> {
    const changes: Partial<MessageRow> = { status: end.status }
    if (end.content !== undefined) changes.content = JSON.stringify(end.content)
    if (end.usage) {
      changes.promptTokens = end.usage.promptTokens
      changes.completionTokens = end.usage.completionTokens
    }
    if (end.errorType !== undefined) changes.errorType = end.errorType
    const changed = await this.em().nativeUpdate(ConversationMessage, { id: messageId, status: 'in_progress' }, changes)
    return changed > 0
  }

  async messages(owner: ConversationOwner, conversationId: number, paging: Paging): Promise<Paged<StoredMessage>> {
    const em = this.em()
    const conversation = await this.owned(em, owner, conversationId)
    const [rows, total] = await em.findAndCount(
      ConversationMessage,
      { conversationId: conversation.id },
      { orderBy: { id: 'asc' }, limit: paging.pageSize, offset: (paging.page - 1) * paging.pageSize },
    )
    return { items: rows.map(messageOf), total, page: paging.page, pageSize: paging.pageSize }
  }

  /** Every message of a conversation already checked, oldest first (sending, export). */
  async allMessages(conversationId: number): Promise<StoredMessage[]> {
    const rows = await this.em().find(ConversationMessage, { conversationId }, { orderBy: { id: 'asc' } })
    return rows.map(messageOf)
  }

  /** Deletes messages of a conversation from `fromId` on (regenerate, edit and resend). */
  async truncate(conversationId: number, fromId: number): Promise<void> {
    await this.em().nativeDelete(ConversationMessage, { conversationId, id: { $gte: fromId } })
  }

  async list(filter: ConversationFilter, paging: Paging): Promise<Paged<StoredConversation>> {
    const where: Record<string, unknown> = { ownerKind: filter.ownerKind }
    if (filter.ownerId !== undefined) where.ownerId = filter.ownerId
    else if (filter.ownerIdPrefix !== undefined)
      where[raw("(owner_id like ? escape '!')", [`${escapeLike(filter.ownerIdPrefix)}%`])] = true
    if (filter.q) where[raw('instr(lower(title), ?)', [filter.q.toLowerCase()])] = { $gt: 0 }
    const archived = filter.archived ?? 'exclude'
    if (archived !== 'include') where.archived = archived === 'only'
    const [rows, total] = await this.em().findAndCount(Conversation, where, {
      orderBy: { updatedAt: 'desc', id: 'desc' },
      limit: paging.pageSize,
      offset: (paging.page - 1) * paging.pageSize,
    })
    return { items: rows.map(conversationOf), total, page: paging.page, pageSize: paging.pageSize }
  }
}

/** `%`, `_` and `!` match themselves in a prefix; `!` is the escape both dialects are told of. */
function escapeLike(text: string): string {
  return text.replace(/[!%_]/g, match => `!${match}`)
}

export function conversationOf(row: ConversationRow): StoredConversation {
  return {
    id: row.id,
    owner: { kind: row.ownerKind as ConversationOwner['kind'], id: row.ownerId },
    model: row.model ?? null,
    modelConfigId: row.modelConfigId ?? null,
    title: row.title,
    titleSource: row.titleSource as StoredConversation['titleSource'],
    archived: row.archived,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  }
}

export function messageOf(row: MessageRow): StoredMessage {
  return {
    id: row.id,
    conversationId: row.conversationId,
    role: row.role as StoredMessage['role'],
    content: JSON.parse(row.content) as MessageContent,
    status: row.status as StoredMessage['status'],
    usage:
      row.promptTokens === null || row.promptTokens === undefined
        ? null
        : { promptTokens: row.promptTokens, completionTokens: row.completionTokens ?? 0 },
    errorType: row.errorType ?? null,
    createdAt: row.createdAt,
  }
}
