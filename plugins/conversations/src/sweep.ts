import { randomUUID } from 'node:crypto'
import type { EntityManager, KeyValueStore, Logger } from '@parley/core'
import { ConversationMessage } from './entities.js'

/** How long an instance's heartbeat lasts, and how often it is renewed. */
const BEAT_TTL_MS = 30_000
const BEAT_EVERY_MS = 10_000
const KEY = 'conversations:runner:'

/**
 * Answers left `in_progress` by an instance that stopped (a crash, a kill, a lost database)
 * end `failed` with `error_type: interrupted`. Each instance writes its id on the answers it
 * streams and keeps a heartbeat in the key-value store; the sweep (at start, then each minute as
 * the `conversations.sweep` job) fails the answers of ids with no heartbeat, and any answer older
 * than the data plane's total timeout, which no call outlives.
 */
export class Sweep {
  readonly runner = randomUUID()
  #timer: NodeJS.Timeout | undefined

  constructor(
    private readonly em: () => EntityManager,
    private readonly kv: KeyValueStore,
    private readonly staleAfterMs: number,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    await this.#beat()
    this.#timer = setInterval(() => void this.#beat(), BEAT_EVERY_MS)
    this.#timer.unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer)
    await this.kv.delete(KEY + this.runner).catch(() => undefined)
  }

  async #beat(): Promise<void> {
    await this.kv.set(KEY + this.runner, '1', { ttlMs: BEAT_TTL_MS }).catch((error: unknown) => {
      this.log.warn({ err: error }, 'the conversations heartbeat could not be written')
    })
  }

  /** Whether the instance that wrote `runner` on an answer still beats (a store that fails: no). */
  async alive(runner: string | null): Promise<boolean> {
    if (runner === null) return false
    if (runner === this.runner) return true
    return (await this.kv.get(KEY + runner).catch(() => null)) !== null
  }

  /** Fails stale answers; returns how many. */
  async sweep(now = new Date()): Promise<number> {
    const failed = { status: 'failed', errorType: 'interrupted' }
    let swept = await this.em().nativeUpdate(
      ConversationMessage,
      { status: 'in_progress', createdAt: { $lt: new Date(now.getTime() - this.staleAfterMs) } },
      failed,
    )
    const running = await this.em().find(
      ConversationMessage,
      { status: 'in_progress', $or: [{ runner: { $ne: this.runner } }, { runner: null }] },
      { fields: ['runner'], disableIdentityMap: true },
    )
    const runners = [...new Set(running.map(row => row.runner ?? ''))]
    const dead: string[] = []
    for (const runner of runners) if (runner === '' || (await this.kv.get(KEY + runner)) === null) dead.push(runner)
    if (dead.length > 0) {
      const named = dead.filter(runner => runner !== '')
      swept += await this.em().nativeUpdate(
        ConversationMessage,
        {
          status: 'in_progress',
          $or: [
            ...(named.length > 0 ? [{ runner: { $in: named } }] : []),
            ...(dead.includes('') ? [{ runner: null }] : []),
          ],
        },
        failed,
      )
    }
    if (swept > 0) this.log.info({ swept }, 'answers left in progress by a stopped instance ended failed')
    return swept
  }
}
