import { randomUUID } from 'node:crypto'
import type { EntityManager, KeyValueStore, Logger } from '@parley/core'
import { ConversationMessage } from './entities.js'
import { conversationErrors } from './errors.js'
import type { Sweep } from './sweep.js'

/** How long the claim of one send lasts at most: it covers storing the question and the answer row. */
const CLAIM_TTL_MS = 15_000
const KEY = 'conversations:claim:'

/**
 * One answer at a time per conversation, whichever instance is asked. A send first claims the
 * conversation in the key-value store (Redis when configured, so every instance sees it), then
 * looks for an answer still `in_progress` whose instance is alive (its heartbeat, see
 * sweep.ts); if there is none, the caller stores its question and its `in_progress` answer and
 * lets the claim go. From then on the answer row itself says the conversation is busy. A claim
 * the key-value store cannot take (the store is down) falls back to the database check alone,
 * so a send still works on one instance.
 */
export class OneAnswer {
  constructor(
    private readonly em: () => EntityManager,
    private readonly kv: KeyValueStore,
    private readonly sweep: Sweep,
    private readonly staleAfterMs: number,
    private readonly log: Logger,
  ) {}

  /** Claims the conversation or throws `PARLEY_ERR_CONVERSATION_BUSY`; call the answer to let the claim go. */
  async claim(conversationId: number): Promise<() => Promise<void>> {
    const key = KEY + conversationId
    const token = randomUUID()
    let held: boolean
    try {
      held = await this.kv.set(key, token, { ttlMs: CLAIM_TTL_MS, onlyIfAbsent: true })
    } catch (error) {
      this.log.warn({ err: error, conversation_id: conversationId }, 'the conversation claim could not be written')
      return this.#checked(conversationId, async () => undefined)
    }
    if (!held) throw conversationErrors.PARLEY_ERR_CONVERSATION_BUSY({ id: conversationId })
    return this.#checked(conversationId, async () => {
      if ((await this.kv.get(key).catch(() => null)) === token) await this.kv.delete(key).catch(() => false)
    })
  }

  async #checked(conversationId: number, free: () => Promise<void>): Promise<() => Promise<void>> {
    try {
      if (await this.answering(conversationId))
        throw conversationErrors.PARLEY_ERR_CONVERSATION_BUSY({ id: conversationId })
    } catch (error) {
      await free()
      throw error
    }
    return free
  }

  /** Whether an answer of the conversation is being written by a live instance. */
  private async answering(conversationId: number): Promise<boolean> {
    const rows = await this.em().find(
      ConversationMessage,
      {
        conversationId,
        status: 'in_progress',
        createdAt: { $gt: new Date(Date.now() - this.staleAfterMs) },
      },
      { fields: ['runner'], disableIdentityMap: true },
    )
    for (const row of rows) if (await this.sweep.alive(row.runner ?? null)) return true
    return false
  }
}
