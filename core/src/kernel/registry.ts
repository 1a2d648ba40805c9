import { errors } from '../errors.js'

export interface Registered<T> {
  /** The id its plugin gave it; unique within that plugin (across plugins only in a `shared` registry). */
  readonly id: string
  readonly item: T
  /** `core` or the id of the plugin that registered it. */
  readonly owner: string
  /** Unique in the registry: the id itself in a `shared` registry or for core, else `<owner>/<id>`. */
  readonly key: string
}

export interface RegistryOptions<T> {
  /**
   * The id names something every plugin refers to (a provider by a channel's `provider`, a CLI
   * command by its name): one owner per id. Otherwise each plugin's ids are its own, so two
   * plugins may each register a page `login`.
   */
  readonly shared?: boolean
  /** What must also be unique across plugins, e.g. a page's path or a partial's name. */
  readonly unique?: { readonly what: string; readonly of: (item: T) => string }
}

/**
 * One registry per extension point. Plugins register during setup; after the gateway has
 * finished setup the registry is sealed, so the set of implementations never changes under a
 * running request.
 */
export class Registry<T> {
  readonly #entries = new Map<string, Registered<T>>()
  readonly #taken = new Map<string, Registered<T>>()
  #sealed = false
  #items: readonly T[] | undefined

  constructor(
    readonly name: string,
    readonly options: RegistryOptions<T> = {},
  ) {}

  /** The registry-wide key of a plugin's id (see `Registered.key`). */
  keyOf(id: string, owner: string): string {
    return this.options.shared || owner === 'core' ? id : `${owner}/${id}`
  }

  register(id: string, item: T, owner: string): void {
    if (this.#sealed) throw errors.PARLEY_ERR_REGISTRY_CLOSED({ registry: this.name })
    const key = this.keyOf(id, owner)
    const existing = this.#entries.get(key)
    if (existing)
      throw errors.PARLEY_ERR_REGISTRY_DUPLICATE({ registry: this.name, id, plugin: owner, owner: existing.owner })
    const unique = this.options.unique
    const value = unique?.of(item)
    const holder = value === undefined ? undefined : this.#taken.get(value)
    if (holder) {
      throw errors.PARLEY_ERR_REGISTRY_CONFLICT({
        registry: this.name,
        what: unique?.what,
        value,
        id,
        plugin: owner,
        other: holder.id,
        owner: holder.owner,
      })
    }
    const entry = Object.freeze({ id, item, owner, key })
    this.#entries.set(key, entry)
    if (value !== undefined) this.#taken.set(value, entry)
  }

  /** By registry-wide key: a shared registry's id, a core id, or `<plugin>/<id>`. */
  get(key: string): T | undefined {
    return this.#entries.get(key)?.item
  }

  has(key: string): boolean {
    return this.#entries.has(key)
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
  /** The plugin's own id, or any registry-wide key (`<plugin>/<id>`, a shared name). */
  get(id: string): T | undefined
  list(): Registered<T>[]
}

export function forPlugin<T>(registry: Registry<T>, owner: string): PluginRegistry<T> {
  return {
    register: (id, item) => registry.register(id, item, owner),
    get: id => registry.get(registry.keyOf(id, owner)) ?? registry.get(id),
    list: () => registry.list(),
  }
}
