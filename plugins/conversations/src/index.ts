import { definePlugin } from '@parley/core'
import { conversationEntities } from './entities.js'
import { conversationMigrations } from './migrations/index.js'
import { CONVERSATIONS, type ConversationsService } from './service.js'
import { ConversationStore } from './store.js'

export { conversationErrors } from './errors.js'
export {
  CONVERSATIONS,
  type ConversationFilter,
  type ConversationOwner,
  type ConversationsService,
  type MessageContent,
  type MessageEnd,
  type MessageRole,
  type MessageStatus,
  type MessageUsage,
  type NewConversation,
  type NewMessage,
  type Paged,
  type Paging,
  type StoredConversation,
  type StoredMessage,
} from './service.js'

/** Conversations stored on the server (docs/conversations.md). */
export default definePlugin({
  id: 'conversations',
  version: '0.1.0',
  core: '^0.1.0',
  description: 'Conversations on the server: history, titles, export, retention, WebSocket chat',
  setup(ctx) {
    ctx.db.entities(conversationEntities)
    ctx.db.migrations(conversationMigrations)
    const store = new ConversationStore(() => ctx.db.em(), ctx.events)
    ctx.provide<ConversationsService>(CONVERSATIONS, store)
  },
})
