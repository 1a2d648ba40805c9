/*
 * The widget answers running on this instance. An answer runs detached from its connection
 * (the browser may have left), so the HTTP server's drain does not wait for it: a shutdown
 * does, here, until the answer ended and its last event reached the KV store (where a
 * reconnect on another instance replays it), or until the drain time is over.
 */
export class RunningAnswers {
  readonly #answers = new Map<AbortController, Promise<unknown>>()

  /** Counts the answer `stop` stops as running until `stored` settles. */
  track(stop: AbortController, stored: Promise<unknown>): void {
    this.#answers.set(stop, stored)
    void stored.catch(() => undefined).finally(() => this.#answers.delete(stop))
  }

  get size(): number {
    return this.#answers.size
  }

  /** Resolves once every running answer is stored, or after `ms`, whichever comes first. */
  async drained(ms: number): Promise<void> {
    if (this.#answers.size === 0) return
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      Promise.allSettled(this.#answers.values()),
      new Promise(resolve => (timer = setTimeout(resolve, ms))),
    ])
    clearTimeout(timer)
  }

  /** Stops every answer still running; each still ends its log (see chat-routes.ts). */
  stopAll(): void {
    for (const stop of this.#answers.keys()) stop.abort()
  }
}
