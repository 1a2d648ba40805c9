import { RateLimiterMemory } from 'rate-limiter-flexible'
import { hitOf, UNCAPPED, WINDOW_SECONDS, type Hit, type WindowCounter } from './counter.js'

/** Counters in this process only: the default without Redis, and the fallback while Redis is down. */
export class LocalCounter implements WindowCounter {
  readonly #limiter = new RateLimiterMemory({ points: UNCAPPED, duration: WINDOW_SECONDS, keyPrefix: '' })

  async hit(key: string): Promise<Hit> {
    const res = await this.#limiter.consume(key)
    return hitOf(res, () => this.#limiter.reward(key))
  }

  async start(): Promise<void> {}

  async close(): Promise<void> {}
}
