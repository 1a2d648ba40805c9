import {
  definePlugin,
  readClientBundle,
  SecretBox,
  serveClientBundle,
  TOKENS,
  Type,
  type CatalogCache,
  type ChatService,
} from '@parley/core'
import { installAdminRoutes } from './admin-routes.js'
import { AnswerLog } from './answers.js'
import { CONSOLE_ASSETS_URL, CONSOLE_DIR, FRAME_ASSETS_URL, FRAME_DIR, LOADER_DIR, TEMPLATES_DIR } from './bundle.js'
import { installChatRoutes } from './chat-routes.js'
import { WidgetClients } from './clients.js'
import { installEmbedRoutes } from './embed-routes.js'
import { WidgetClient } from './entities.js'
import { widgetLimits } from './limits.js'
import { widgetMigrations } from './migrations/index.js'
import { reencryptSecrets } from './reencrypt.js'
import { RunningAnswers } from './running-answers.js'
import { installSessionRoute } from './session-route.js'
import { WidgetSessions } from './sessions.js'
import { installTranscriptRoutes } from './transcript-routes.js'
import { CONVERSATIONS, Transcripts, type TranscriptStore } from './transcripts.js'

export { buildWidget } from './build-client.js'
export { widgetErrors } from './errors.js'
export { sign, signatureBase } from './signature.js'

/** How long a stopped answer gets to store its last events, after the drain time. */
const STOPPED_ANSWER_FLUSH_MS = 2_000

const Options = Type.Object({
  /** Lifetime of a session token; the host page asks its backend for a new one after it. */
  session_ttl_seconds: Type.Integer({ minimum: 60, maximum: 86_400, default: 1_800 }),
  /** How long an answer's events stay replayable after its last event. */
  answer_ttl_seconds: Type.Integer({ minimum: 30, maximum: 3_600, default: 300 }),
  /** How long the old secret still verifies after a rotation, unless the admin says otherwise. */
  rotation_overlap_seconds: Type.Integer({ minimum: 0, maximum: 30 * 86_400, default: 86_400 }),
  /** The group widget users' calls are routed and limited as. */
  group: Type.String({ minLength: 1, maxLength: 64, default: 'default' }),
  /** Default of the `widget.ip_rpm` setting. */
  ip_rpm: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 60 }),
})

/** The embeddable chat widget (docs/widget.md). */
export default definePlugin({
  id: 'widget',
  version: '0.1.0',
  core: '^0.1.0',
  optional: ['conversations'],
  description: 'Embeddable chat widget: widget clients, signed sessions, /widget.js, resumable answers, transcripts',
  options: Options,
  setup(ctx) {
    ctx.db.entities([WidgetClient])
    ctx.db.migrations(widgetMigrations)
    const ipRpm = ctx.settings.define({
      key: 'ip_rpm',
      schema: Type.Integer({ minimum: 0, maximum: 1_000_000, title: 'Widget messages per minute per address' }),
      default: ctx.options.ip_rpm,
      description: 'Per client address, for all widget users together; 0 for no limit',
      locales: {
        'zh-CN': { title: '挂件每地址每分钟消息数', description: '按客户端地址统计所有挂件用户；0 表示不限制' },
      },
    })
    const box = SecretBox.fromSecrets(ctx.secrets)
    const em = () => ctx.db.em()
    const clients = new WidgetClients(em, box, ctx.kv, ctx.log)
    const sessions = new WidgetSessions(ctx.kv, ctx.options.session_ttl_seconds, ctx.options.group)
    const answers = new AnswerLog(ctx.kv, ctx.options.answer_ttl_seconds * 1000, ctx.log)
    const conversations = () =>
      ctx.container.isRegistered(CONVERSATIONS, true)
        ? ctx.container.resolve<TranscriptStore>(CONVERSATIONS)
        : undefined
    const transcripts = new Transcripts(conversations, ctx.kv, ctx.log)
    const running = new RunningAnswers()

    const frame = readClientBundle(FRAME_DIR, 'widget')
    const loader = readClientBundle(LOADER_DIR, 'widget').get('app.js')?.body ?? Buffer.alloc(0)
    serveClientBundle(ctx.http, FRAME_ASSETS_URL, frame)
    serveClientBundle(ctx.http, CONSOLE_ASSETS_URL, readClientBundle(CONSOLE_DIR, 'widget'))
    ctx.ui.adminSections.register('clients', {
      title: 'widget.title',
      path: '/admin/widget-clients',
      template: 'widget-clients',
      templatesDir: TEMPLATES_DIR,
      order: 65,
    })
    installEmbedRoutes(ctx.http, { clients, loader, frame })

    ctx.auth.register('session', sessions.strategy)
    ctx.limits.register(
      'clients',
      widgetLimits(clients, ctx.kv, () => ipRpm.get()),
    )
    installAdminRoutes(ctx.http, {
      em,
      box,
      clients,
      catalog: ctx.container.resolve<CatalogCache>(TOKENS.catalog),
      overlapSeconds: ctx.options.rotation_overlap_seconds,
    })
    installTranscriptRoutes(ctx.http, { em, store: conversations })
    installSessionRoute(ctx.http, { clients, sessions, kv: ctx.kv })
    installChatRoutes(ctx.http, {
      chat: ctx.container.resolve<ChatService>(TOKENS.chat),
      sessions,
      clients,
      answers,
      transcripts,
      running,
    })

    // `parley re-encrypt` covers channels (core); this covers the secrets this plugin stores.
    ctx.commands.register('re-encrypt-widget-clients', {
      description: 'seal every widget client secret with the current ENCRYPTION_KEY',
      async run() {
        const { resealed, unreadable } = await reencryptSecrets(em(), box)
        process.stdout.write(`Re-encrypted ${resealed} widget client secret(s) with the current ENCRYPTION_KEY.\n`)
        if (unreadable > 0)
          process.stdout.write(`${unreadable} secret(s) open with no configured key; rotate those clients' secrets.\n`)
        return unreadable > 0 ? 1 : 0
      },
    })

    ctx.onStart(async () => {
      await clients.start()
      await answers.start()
    })
    ctx.onStop(async () => {
      // HTTP has drained; answers whose browser left may still run: give them the drain time,
      // then stop them, and let the stopped ones write their end before the KV store closes.
      await running.drained(ctx.config.server.shutdown_timeout_ms)
      running.stopAll()
      await running.drained(STOPPED_ANSWER_FLUSH_MS)
      await answers.stop()
      await clients.stop()
    })
  },
})
