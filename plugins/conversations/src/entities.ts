import { defineEntity } from '@parley/core'

/**
 * A stored conversation. The owner is a pair (kind, id) rather than a user id, so the widget's
 * transcripts (`widget`, `<client_id>:<external_user_id>`) live beside the portal's (`user`).
 */
export const Conversation = defineEntity({
  name: 'Conversation',
  tableName: 'conversations',
  properties: p => ({
    id: p.integer().primary().autoincrement(),
    /** `user` (a portal account) or `widget` (an external user of a widget client). */
    ownerKind: p.string().length(16),
    /** The user id, or `<client_id>:<external_user_id>`; every query filters on it. */
    ownerId: p.string().length(191),
    /** The catalog model the conversation talks to; null when it uses a personal model config. */
    model: p.string().length(191).nullable(),
    /** A personal model config (plugins/model-configs) instead of a catalog model. */
    modelConfigId: p.integer().nullable(),
    /** Shown in the sidebar and searched by `q`; empty until the first question. */
    title: p.string().length(255).default(''),
    /** `none`, `question` (first words), `generated` (the title job) or `user` (renamed): a rename is never overwritten. */
    titleSource: p.string().length(16).default('none'),
    /** Kept but hidden from the default list. */
    archived: p.boolean().default(false),
    createdAt: p.datetime().onCreate(() => new Date()),
    /** Raised by every message: the list is newest activity first. */
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  }),
  // The list query: one owner's conversations, newest first.
  indexes: [{ properties: ['ownerKind', 'ownerId', 'updatedAt'] }, { properties: ['updatedAt'] }],
})

/** One message of a conversation: a question, an answer (streamed into place) or a system prompt. */
export const ConversationMessage = defineEntity({
  name: 'ConversationMessage',
  tableName: 'conversations_messages',
  properties: p => ({
    id: p.integer().primary().autoincrement(),
    conversationId: p.integer(),
    /** `system`, `user` or `assistant`. */
    role: p.string().length(16),
    /** JSON: a string, or OpenAI content parts (images as `parley-object://<key>`, never a URL). MySQL's `text` ends at 64 KiB: an answer may be longer. */
    content: p.text().columnType('mediumtext'),
    /** `in_progress` while the answer streams, then `completed`, `failed` or `stopped`. */
    status: p.string().length(16),
    /** The usage row's figures for an answer; null for a question. */
    promptTokens: p.integer().nullable(),
    completionTokens: p.integer().nullable(),
    /** The error type the caller saw (`upstream_error`, `timeout`, `interrupted`, ...). */
    errorType: p.string().length(64).nullable(),
    /** The instance streaming an `in_progress` answer: the sweep fails those whose instance stopped beating. */
    runner: p.string().length(36).nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  }),
  indexes: [
    // A conversation's messages in order (reads, paging, the last question).
    { properties: ['conversationId', 'id'] },
    // The sweep of answers left in progress by a crash.
    { properties: ['status', 'createdAt'] },
  ],
})

export const conversationEntities = [Conversation, ConversationMessage]
