import { definePlugin, TOKENS, Type, type ChatService, type ObjectRefs } from '@parley/core'
import type { Conversations } from './context.js'
import { conversationEntities } from './entities.js'
import { conversationMigrations } from './migrations/index.js'
import { installPrivacyRoutes } from './privacy.js'
import { installConversationRoutes } from './routes/conversations.js'
import { installMessageRoutes } from './routes/messages.js'
import { OneAnswer } from './one-answer.js'
import { Sender } from './sender.js'
import { CONVERSATIONS, type ConversationsService } from './service.js'
import { ConversationStore } from './store.js'
import { Sweep } from './sweep.js'
import { MODEL_CONFIGS, Targets, type ModelConfigResolver } from './targets.js'
import { Titles } from './titles.js'
import { installWebSocket } from './ws.js'

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

const Options = Type.Object({
  /** An answer still `in_progress` after this long is failed by the sweep; default: the data plane's total timeout and a minute. */
  stale_after_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 7 * 86_400 })),
})

/** Conversations stored on the server (docs/conversations.md). */
export default definePlugin({
  id: 'conversations',
  version: '0.1.0',
  core: '^0.1.0',
  description: 'Conversations on the server: history, titles, export, retention, WebSocket chat',
  optional: ['model-configs'],
  options: Options,
  async setup(ctx) {
    ctx.db.entities(conversationEntities)
    ctx.db.migrations(conversationMigrations)
    const titleModel = ctx.settings.define({
      key: 'title_model',
      schema: Type.String({ maxLength: 191, title: 'Title model' }),
      default: '',
      description: "The model that names conversations after their first exchange; empty: the conversation's own",
      locales: {
        'zh-CN': { title: '标题模型', description: '在第一轮问答后为对话起标题的模型；留空则使用对话本身的模型' },
      },
    })
    const retentionDays = ctx.settings.define({
      key: 'retention_days',
      schema: Type.Integer({ minimum: 0, maximum: 36_500, title: 'Keep conversations (days)' }),
      default: 0,
      description: 'Conversations without a new message for this many days are deleted; 0 keeps them',
      locales: {
        'zh-CN': { title: '对话保留天数', description: '超过该天数没有新消息的对话将被删除；0 表示永久保留' },
      },
    })

    const em = () => ctx.db.em()
    const staleAfterMs = (ctx.options.stale_after_seconds ?? 0) * 1000 || ctx.config.upstream.total_timeout_ms + 60_000
    const sweep = new Sweep(em, ctx.kv, staleAfterMs, ctx.log)
    const store = new ConversationStore(em, ctx.events, sweep.runner)
    ctx.provide<ConversationsService>(CONVERSATIONS, store)

    const configs = ctx.container.isRegistered(MODEL_CONFIGS, true)
      ? ctx.container.resolve<ModelConfigResolver>(MODEL_CONFIGS)
      : undefined
    const targets = new Targets(configs)
    const chat = () => ctx.container.resolve<ChatService>(TOKENS.chat)
    const titles = new Titles(ctx.jobs, store, chat, targets, () => titleModel.get(), ctx.log)
    titles.define()
    const oneAnswer = new OneAnswer(em, ctx.kv, sweep, staleAfterMs, ctx.log)
    const sender = new Sender(store, chat(), targets, titles, oneAnswer, ctx.log)
    const conversations: Conversations = {
      http: ctx.http,
      log: ctx.log,
      store,
      sender,
      titles,
      targets,
      chat,
      objects: () => ctx.container.resolve<ObjectRefs>(TOKENS.objects),
    }
    installConversationRoutes(conversations)
    installMessageRoutes(conversations)
    installPrivacyRoutes(conversations)
    await installWebSocket(conversations)

    ctx.jobs.define({
      name: 'conversations.sweep',
      cron: '* * * * *',
      attempts: 1,
      handler: async () => void (await sweep.sweep()),
    })
    ctx.retention.register('idle-conversations', {
      prune: context => {
        const days = retentionDays.get()
        if (days === 0) return Promise.resolve(0)
        return store.removeIdleSince(
          new Date(context.now.getTime() - days * 86_400_000),
          context.batchSize,
          context.signal,
        )
      },
    })
    ctx.onStart(async () => {
      await sweep.start()
      await sweep.sweep()
    })
    ctx.onStop(() => sweep.stop())
  },
})
