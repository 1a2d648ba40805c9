import type { EntityManager, Logger, ObjectRefs, ObjectStorage } from '@parley/core'
import { Upload } from './entities.js'

/** Rows handled per round trip: small enough for one short transaction, large enough to keep up. */
export const SWEEP_BATCH = 200
/** The hourly sweep of images never sent (and of URLs never used). */
export const SWEEP_JOB = 'uploads.sweep-orphans'
export const SWEEP_CRON = '23 * * * *'
/** Deletes the images of deleted conversations; queued by the `conversation.deleted` event. */
export const CONVERSATIONS_JOB = 'uploads.delete-conversations'

/** A conversation's owner as the conversations plugin names it. */
export interface ConversationOwner {
  readonly kind: 'user' | 'widget'
  readonly id: string
}

/**
 * What happens to stored images after their upload: marked attached when a call sends them
 * upstream, deleted when never sent within the grace period, or when their conversation goes.
 * A row is removed only after its object is: a storage failure leaves both for the next run.
 */
export class Orphans {
  constructor(
    private readonly em: () => EntityManager,
    private readonly storage: ObjectStorage,
    private readonly refs: ObjectRefs,
    private readonly log: Logger,
  ) {}

  /** Marks the owner's keys attached (the first time only); others' keys are left alone. */
  async attach(owner: string, keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0
    return this.em().nativeUpdate(
      Upload,
      { owner, key: { $in: [...keys] }, attachedAt: null },
      { attachedAt: new Date() },
    )
  }

  /** Deletes every upload never attached and created before `before`; answers how many went. */
  async sweep(before: Date): Promise<number> {
    let total = 0
    for (;;) {
      const rows = await this.em().find(
        Upload,
        { attachedAt: null, createdAt: { $lt: before } },
        { fields: ['id', 'key'], limit: SWEEP_BATCH, orderBy: { createdAt: 'asc', id: 'asc' } },
      )
      if (rows.length === 0) return total
      total += await this.#remove(rows)
      if (rows.length < SWEEP_BATCH) return total
    }
  }

  /** Deletes the images stored under the owner's deleted conversations. */
  async removeConversations(owner: ConversationOwner, ids: readonly number[]): Promise<number> {
    const objectOwner = this.objectOwnerOf(owner)
    if (objectOwner === undefined || ids.length === 0) return 0
    const conversationIds = ids.map(String)
    let total = 0
    for (;;) {
      const rows = await this.em().find(
        Upload,
        { owner: objectOwner, conversationId: { $in: conversationIds } },
        { fields: ['id', 'key'], limit: SWEEP_BATCH, orderBy: { id: 'asc' } },
      )
      if (rows.length === 0) return total
      total += await this.#remove(rows)
      if (rows.length < SWEEP_BATCH) return total
    }
  }

  /** The key segment of a conversation's owner: a user's id, or a widget user's HMAC'd segment. */
  objectOwnerOf(owner: ConversationOwner): string | undefined {
    if (owner.kind === 'user') return owner.id
    const colon = owner.id.indexOf(':')
    if (colon <= 0) return undefined
    return this.refs.owner({
      kind: 'widget_user',
      clientId: owner.id.slice(0, colon),
      externalId: owner.id.slice(colon + 1),
      group: '',
    })
  }

  async #remove(rows: ReadonlyArray<{ id: number; key: string }>): Promise<number> {
    const done: number[] = []
    for (const row of rows) {
      try {
        await this.storage.delete(row.key)
        done.push(row.id)
      } catch (error) {
        this.log.warn({ key: row.key, err: error }, 'a stored image could not be deleted; the next run tries again')
      }
    }
    if (done.length > 0) await this.em().nativeDelete(Upload, { id: { $in: done } })
    if (done.length < rows.length) throw new Error(`${rows.length - done.length} stored images could not be deleted`)
    return done.length
  }
}
