import { definePlugin, TOKENS, Type, type ActiveStorage, type ObjectRefs, type Principal } from '@parley/core'
import { uploadEntities } from './entities.js'
import { uploadMigrations } from './migrations/index.js'
import { CONVERSATIONS_JOB, Orphans, SWEEP_CRON, SWEEP_JOB, type ConversationOwner } from './orphans.js'
import { installUploadRoutes } from './routes.js'
import { defineUploadSettings, UPLOAD_DEFAULTS } from './settings.js'
import { Uploads, type ConversationCheck } from './uploads.js'

export { uploadErrors } from './errors.js'
export { Upload, uploadEntities } from './entities.js'
export { CONVERSATIONS_JOB, SWEEP_JOB } from './orphans.js'
export { IMAGE_TYPES } from './uploads.js'

/** The conversations plugin's service token; resolved only when that plugin is loaded. */
const CONVERSATIONS = Symbol.for('parley.conversations')

/** What this plugin asks of the conversations service (its `find`), so it needs no import of it. */
interface ConversationLookup {
  find(owner: ConversationOwner, id: number): Promise<unknown>
}

const Options = Type.Object({
  max_file_bytes: Type.Integer({ minimum: 1024, maximum: 100 * 1024 * 1024, default: UPLOAD_DEFAULTS.max_file_bytes }),
  quota_bytes: Type.Integer({ minimum: 0, maximum: 1024 ** 4, default: UPLOAD_DEFAULTS.quota_bytes }),
  max_files: Type.Integer({ minimum: 1, maximum: 50, default: UPLOAD_DEFAULTS.max_files }),
  url_seconds: Type.Integer({ minimum: 30, maximum: 3600, default: UPLOAD_DEFAULTS.url_seconds }),
  guests: Type.Boolean({ default: UPLOAD_DEFAULTS.guests }),
  orphan_hours: Type.Integer({ minimum: 1, maximum: 720, default: UPLOAD_DEFAULTS.orphan_hours }),
})

/** Image uploads into the object storage: presigned URLs, quota, read-back and the orphan sweep (docs/storage.md). */
export default definePlugin({
  id: 'uploads',
  version: '0.1.0',
  core: '^0.1.0',
  description: 'Image uploads straight to the object storage through presigned URLs, per-user quota, orphan sweep',
  optional: ['conversations'],
  options: Options,
  setup(ctx) {
    ctx.db.entities(uploadEntities)
    ctx.db.migrations(uploadMigrations)
    const settings = defineUploadSettings(ctx, { ...ctx.options })
    const storage = ctx.container.resolve<ActiveStorage>(TOKENS.storage)
    const refs = ctx.container.resolve<ObjectRefs>(TOKENS.objects)
    const em = () => ctx.db.em()
    const conversations = ctx.container.isRegistered(CONVERSATIONS, true)
      ? ctx.container.resolve<ConversationLookup>(CONVERSATIONS)
      : undefined
    const uploads = new Uploads({
      em,
      storage,
      refs,
      settings,
      ...(conversations ? { conversation: ownConversation(conversations) } : {}),
    })
    installUploadRoutes(ctx.http, uploads)

    const orphans = new Orphans(em, storage, refs, ctx.log)
    ctx.events.on('objects.used', ({ owner, keys }) => orphans.attach(owner, keys).then(() => undefined))
    ctx.events.on('conversation.deleted', ({ owner, ids }) =>
      ctx.jobs.enqueue(CONVERSATIONS_JOB, { owner, ids: [...ids] }).then(() => undefined),
    )
    ctx.jobs.define<{ owner: ConversationOwner; ids: number[] }>({
      name: CONVERSATIONS_JOB,
      attempts: 5,
      backoffMs: 30_000,
      async handler(run) {
        const deleted = await orphans.removeConversations(run.data.owner, run.data.ids)
        if (deleted > 0) run.log.info({ deleted }, 'images of deleted conversations removed')
      },
    })
    ctx.jobs.define({
      name: SWEEP_JOB,
      cron: SWEEP_CRON,
      async handler(run) {
        const before = new Date(Date.now() - settings.orphanHours.get() * 3_600_000)
        const deleted = await orphans.sweep(before)
        if (deleted > 0) run.log.info({ deleted }, 'images never sent were removed')
      },
    })
    ctx.onStart(() => {
      if (storage.driver === undefined)
        ctx.log.warn(
          'no storage driver is loaded: uploads answer 503 (add @parley/storage-local or @parley/storage-s3)',
        )
    })
  },
})

/**
 * A numeric namespace is a stored conversation's id and must be the caller's; any other is a
 * conversation the portal keeps in the browser, and lies under the caller's own segment anyway.
 */
function ownConversation(conversations: ConversationLookup): ConversationCheck {
  return async (principal: Principal, conversationId: string) => {
    if (!/^\d{1,15}$/.test(conversationId)) return true
    const owner = conversationOwnerOf(principal)
    if (!owner) return false
    return (await conversations.find(owner, Number(conversationId))) !== undefined
  }
}

function conversationOwnerOf(principal: Principal): ConversationOwner | undefined {
  switch (principal.kind) {
    case 'user':
    case 'api_token':
      return { kind: 'user', id: principal.userId }
    case 'widget_user':
      return { kind: 'widget', id: `${principal.clientId}:${principal.externalId}` }
    case 'guest':
      return undefined
  }
}
