import type { KeyValueStore, Logger } from '@parley/core'
import { kvGuard } from './kv-guard.js'

/*
 * Each widget answer's events, kept in the KV store for a short time (Redis when configured) so
 * a reconnect on any instance replays what it missed and follows the rest live. Event n (from
 * 1) is item n-1 of the list `widget:answer:<id>:events`; an END item closes it. Appends are
 * announced on one channel per gateway, so a follower on another instance reads on at once.
 */

const CHANNEL = 'widget:answers'
/** The last item of every answer; never sent to a client. */
const END = ':end'
/** A follower looks again this often even without a message (one missed while Redis blinked). */
const POLL_MS = 1_000

export interface AnswerOwner {
  readonly clientId: string
  readonly externalUserId: string
}

/** The instance that runs an answer writes it here, in order. */
export class AnswerWriter {
  /** The events so far, for the connection that asked (on this instance). */
  readonly events: string[] = []
  ended = false
  readonly #listeners = new Set<() => void>()
  #tail: Promise<unknown>

  constructor(
    private readonly log: AnswerLog,
    readonly id: string,
    owner: AnswerOwner,
  ) {
    this.#tail = log.store('meta', id, JSON.stringify(owner))
  }

  push(event: string): void {
    if (this.ended) return
    this.events.push(event)
    this.#append(event)
    this.#notify()
  }

  end(owner: AnswerOwner): void {
    if (this.ended) return
    this.ended = true
    this.#append(END)
    // The owner record outlives the events, so a late reconnect hears "ended", not "unknown".
    this.#tail = this.#tail.then(() => this.log.store('meta', this.id, JSON.stringify(owner)))
    this.#notify()
  }

  /** Calls `listener` after each new event and at the end; returns the function that stops it. */
  listen(listener: () => void): () => void {
    this.#listeners.add(listener)
    return () => void this.#listeners.delete(listener)
  }

  /** Resolves once every event reached the KV store. */
  settled(): Promise<unknown> {
    return this.#tail
  }

  #append(item: string): void {
    this.#tail = this.#tail.then(() => this.log.store('events', this.id, item))
  }

  #notify(): void {
    for (const listener of this.#listeners) listener()
  }
}

export class AnswerLog {
  readonly #followers = new Map<string, Set<() => void>>()
  #unsubscribe: (() => Promise<void>) | undefined

  constructor(
    private readonly kv: KeyValueStore,
    readonly ttlMs: number,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    try {
      this.#unsubscribe = await this.kv.subscribe(CHANNEL, id => this.#followers.get(id)?.forEach(wake => wake()))
    } catch (error) {
      this.logger.warn({ err: error }, 'cannot subscribe to widget answers; reconnects poll every second instead')
    }
  }

  async stop(): Promise<void> {
    await this.#unsubscribe?.()
  }

  begin(id: string, owner: AnswerOwner): AnswerWriter {
    return new AnswerWriter(this, id, owner)
  }

  /** Writes one item (an event or the owner record); a KV failure costs resumability, never the answer. */
  async store(kind: 'meta' | 'events', id: string, value: string): Promise<void> {
    try {
      if (kind === 'meta') await this.kv.set(`widget:answer:${id}:meta`, value, { ttlMs: this.ttlMs })
      else {
        await this.kv.append(`widget:answer:${id}:events`, value, { ttlMs: this.ttlMs })
        await this.kv.publish(CHANNEL, id)
      }
    } catch (error) {
      this.logger.warn({ err: error, answer_id: id }, 'widget answer not stored; a reconnect cannot replay it')
    }
  }

  async owner(id: string): Promise<AnswerOwner | undefined> {
    const stored = await kvGuard(this.kv.get(`widget:answer:${id}:meta`))
    return stored === null ? undefined : (JSON.parse(stored) as AnswerOwner)
  }

  /**
   * Sends the events after the first `from` ones, then each new one as it is stored, until the
   * answer ended, its log expired or `signal` aborted.
   */
  async follow(id: string, from: number, send: (event: string, n: number) => void, signal: AbortSignal): Promise<void> {
    let next = from
    let dirty = true
    let wake: (() => void) | undefined
    const poke = () => {
      dirty = true
      wake?.()
    }
    let followers = this.#followers.get(id)
    if (!followers) this.#followers.set(id, (followers = new Set()))
    followers.add(poke)
    signal.addEventListener('abort', poke, { once: true })
    try {
      for (;;) {
        if (signal.aborted) return
        if (!dirty) {
          await new Promise<void>(resolve => {
            wake = resolve
            setTimeout(resolve, POLL_MS).unref()
          })
          wake = undefined
        }
        dirty = false
        if (signal.aborted) return
        const items = await this.kv.range(`widget:answer:${id}:events`, next)
        for (const item of items) {
          if (item === END) return
          next++
          send(item, next)
        }
        if (items.length === 0 && !(await this.owner(id))) return
      }
    } finally {
      followers.delete(poke)
      if (followers.size === 0) this.#followers.delete(id)
      signal.removeEventListener('abort', poke)
    }
  }
}
