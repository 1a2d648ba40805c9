import { REFUND_MIN_MS, WINDOW_SECONDS, type Hit, type WindowCounter } from './counter.js'

const WINDOW_MS = WINDOW_SECONDS * 1000

interface Window {
  count: number
  /** Epoch ms at which the window ends and the key counts from zero again. */
  readonly endsAt: number
}

/**
 * Counters in this process only: the default without Redis, and the fallback while Redis is
 * down. Synchronous, so a call limited in memory costs no promise. A key's window starts with
 * its first call; ended windows are swept once a minute, so the keys held are those used
 * within the last two minutes at most.
 */
export class LocalCounter implements WindowCounter {
  readonly #windows = new Map<string, Window>()
  #sweeper: NodeJS.Timeout | undefined

  hit(key: string): Hit {
    const now = Date.now()
    let window = this.#windows.get(key)
    if (!window || window.endsAt <= now) {
      window = { count: 0, endsAt: now + WINDOW_MS }
      this.#windows.set(key, window)
    }
    window.count++
    const current = window
    const resetMs = Math.max(1, current.endsAt - now)
    return {
      count: current.count,
      resetMs,
      refund: () => {
        if (resetMs > REFUND_MIN_MS && current.count > 0) current.count--
      },
    }
  }

  /** Keys held now (ended windows stay until the next sweep). */
  get size(): number {
    return this.#windows.size
  }

  async start(): Promise<void> {
    this.#sweeper ??= setInterval(() => this.#sweep(), WINDOW_MS)
    this.#sweeper.unref()
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper)
    this.#sweeper = undefined
  }

  #sweep(): void {
    const now = Date.now()
    for (const [key, window] of this.#windows) if (window.endsAt <= now) this.#windows.delete(key)
  }
}
