/**
 * The key-value port: short-lived shared state (caches, counters, locks) and cross-instance
 * messages. The memory driver serves one process; the Redis driver makes N instances share it.
 * Keys and channels are namespaced by the driver, so callers use plain names like
 * `settings:changed` and two gateways on different prefixes never see each other.
 *
 * @example
 * const hits = await kv.increment(`rl:user:${id}`, { ttlMs: 60_000 })
 * if (hits.value > limit) refuse(hits.ttlMs)
 */
export interface KeyValueStore {
  /** `memory` or `redis`; shown by /readyz and `parley doctor`. */
  readonly kind: 'memory' | 'redis'
  get(key: string): Promise<string | null>
  /**
   * Stores `value`. With `ttlMs` the key disappears after that many milliseconds. With
   * `onlyIfAbsent` nothing is written when the key exists (a lock); the result says whether
   * the value was written.
   */
  set(key: string, value: string, options?: { ttlMs?: number; onlyIfAbsent?: boolean }): Promise<boolean>
  /** Removes the key (a value, a counter or a list); true when it existed. */
  delete(key: string): Promise<boolean>
  /**
   * Atomically adds `by` (default 1) and returns the new value with the time left before the
   * counter expires. The expiry is set when the counter is created and never extended, so a
   * fixed window of `ttlMs` starts with the first increment.
   */
  increment(key: string, options: { by?: number; ttlMs: number }): Promise<{ value: number; ttlMs: number }>
  /**
   * Appends `value` to the list at `key` and returns the list's new length. The list expires
   * `ttlMs` after the last append (each append renews it): a log of recent events, such as a
   * streamed answer another instance may replay.
   */
  append(key: string, value: string, options: { ttlMs: number }): Promise<number>
  /** The list's items from index `from` (0 is the first) to its end; `[]` for a missing list. */
  range(key: string, from: number): Promise<string[]>
  /** Sends `message` to every subscriber of `channel` on every instance (this one included). */
  publish(channel: string, message: string): Promise<void>
  /** Calls `handler` for each message on `channel`; resolves to a function that unsubscribes. */
  subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>>
  /** Resolves when the backend answers; rejects otherwise. */
  ping(): Promise<void>
  /** Closes connections and timers; the store is unusable afterwards. */
  close(): Promise<void>
}
