import { errors } from '../errors.js'

export interface Registered<T> {
  readonly id: string
  readonly item: T
  /** `core` or the id of the plugin that registered it. */
  readonly owner: string
}

/**
 * One registry per extension point. Plugins register during setup; after the gateway has
 * finished setup the registry is sealed, so the set of implementations never changes under a
 * running request.
 */
export class Registry<T> {
  readonly #entries = new Map<string, Registered<T>>()
  #sealed = false
  #items: readonly T[] | undefined

  constructor(readonly name: string) {}

  register(id: string, item: T, owner: string): void {
    if (this.#sealed) throw errors.PARLEY_ERR_REGISTRY_CLOSED({ registry: this.name })
    const existing = this.#entries.get(id)
    if (existing) throw errors.PARLEY_ERR_REGISTRY_DUPLICATE({ registry: this.name, id, owner: existing.owner })
    this.#entries.set(id, Object.freeze({ id, item, owner }))
  }

  get(id: string): T | undefined {
    return this.#entries.get(id)?.item
  }

  has(id: string): boolean {
    return this.#entries.has(id)
  }

  list(): Registered<T>[] {
    return [...this.#entries.values()]
  }

  /** The items in registration order; once sealed, one array for every call (the data plane reads it per request). */
  items(): readonly T[] {
    if (this.#items) return this.#items
    const items = Object.freeze([...this.#entries.values()].map(entry => entry.item))
    if (this.#sealed) this.#items = items
    return items
  }

  seal(): void {
    this.#sealed = true
  }
}

/** The view of a registry a plugin gets: registering is attributed to that plugin. */
export interface PluginRegistry<T> {
  register(id: string, item: T): void
  get(id: string): T | undefined
  list(): Registered<T>[]
}

export function forPlugin<T>(registry: Registry<T>, owner: string): PluginRegistry<T> {
  return {
    register: (id, item) => registry.register(id, item, owner),
    get: id => registry.get(id),
    list: () => registry.list(),
  }
}
