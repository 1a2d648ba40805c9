import { defineEntity } from '@parley/core'

/**
 * One presigned upload: the row is written when the URL is handed out, so the quota counts what
 * a caller may still send, and the orphan sweep finds what was never used.
 */
export const Upload = defineEntity({
  name: 'Upload',
  tableName: 'uploads',
  properties: p => ({
    id: p.integer().primary().autoincrement(),
    /** The storage key, `<owner>/<conversation_id>/images/<uuid>.<ext>`: what messages refer to. */
    key: p.string().length(255).unique(),
    /** The key's first segment (`ObjectRefs.owner`): the quota and every owner check use it. */
    owner: p.string().length(191),
    /** The caller's namespace inside its owner segment; a stored conversation's id when there is one. */
    conversationId: p.string().length(64),
    /** What the upload was signed for; the storage refuses any other. */
    contentType: p.string().length(64),
    /** The exact size signed into the URL, in bytes; the quota adds these up. */
    size: p.integer(),
    createdAt: p.datetime().onCreate(() => new Date()),
    /** When a message first used it upstream (`objects.used`); null: not yet, swept after the grace period. */
    attachedAt: p.datetime().nullable(),
  }),
  indexes: [{ properties: ['owner', 'conversationId'] }, { properties: ['attachedAt', 'createdAt'] }],
})

export const uploadEntities = [Upload]
