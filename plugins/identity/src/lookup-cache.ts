/**
 * A short-lived cache of database lookups that never stampedes. Callers that miss the same key
 * together share one load, and an entry in the last fifth of its life is reloaded in the
 * background while it is still served, so a key in steady use never expires under load (every
 * request in flight would otherwise queue its own lookups on the database at the same moment).
 * `delete` and `clear` drop loads in flight too: a load that started before an invalidation
 * never puts its answer back into the cache.
 */
export class LookupCache<K, V> {
  readonly #entries = new Map<K, { readonly value: V; readonly loadedAt: number }>()
  readonly #loading = new Map<K, Promise<V>>()
  readonly #refreshAfterMs: number

  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
  ) {
    this.#refreshAfterMs = ttlMs * 0.8
  }

  /** The cached value at once, or a promise of the load (shared with every caller missing the same key). */
  get(key: K, load: () => Promise<V>): V | Promise<V> {
    const hit = this.#entries.get(key)
    if (hit) {
      const age = Date.now() - hit.loadedAt
      if (age < this.ttlMs) {
        // A failed refresh is not the caller's problem: the entry expires as it would have.
        if (age >= this.#refreshAfterMs && !this.#loading.has(key)) this.#load(key, load).catch(() => undefined)
        return hit.value
      }
    }
    return this.#loading.get(key) ?? this.#load(key, load)
  }

  delete(key: K): void {
    this.#entries.delete(key)
    this.#loading.delete(key)
  }

  clear(): void {
    this.#entries.clear()
    this.#loading.clear()
  }

  #load(key: K, load: () => Promise<V>): Promise<V> {
    const loading: Promise<V> = load().then(
      value => {
        if (this.#loading.get(key) === loading) {
          this.#loading.delete(key)
          if (this.#entries.size >= this.max && !this.#entries.has(key))
            this.#entries.delete(this.#entries.keys().next().value as K)
          this.#entries.set(key, { value, loadedAt: Date.now() })
        }
        return value
      },
      (error: unknown) => {
        if (this.#loading.get(key) === loading) this.#loading.delete(key)
        throw error
      },
    )
    this.#loading.set(key, loading)
    return loading
  }
}
