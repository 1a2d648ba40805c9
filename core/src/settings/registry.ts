import { randomUUID } from 'node:crypto'
import type { EntityManager } from '@mikro-orm/core'
import type { Static, TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import type { SettingsDefaults } from '../config/schema.js'
import { SystemConfig } from './entities.js'
import { errors } from '../errors.js'
import type { EventBus } from '../events/bus.js'
import type { Language } from '../i18n.js'
import type { KeyValueStore } from '../kv/port.js'
import type { Logger } from '../logger.js'
import { describe, printable } from '../validation.js'

const CHANGED_CHANNEL = 'settings:changed'
/** Safety net: even if an invalidation message is lost (Redis blip), caches converge. */
const FULL_REFRESH_MS = 30_000
const SUBSCRIBE_RETRY_MS = 5_000

/**
 * What the console shows for a setting in one language. English comes from the schema itself
 * (`title`, `description`, and each option's `title` in a union of literals); `locales` adds
 * the other languages (docs/plugins.md#settings).
 */
export interface SettingTexts {
  /** The label. */
  readonly title?: string
  /** The help text under the control. */
  readonly description?: string
  /** Labels of a select's options, by option value. */
  readonly options?: Readonly<Record<string, string>>
}

export interface SettingDefinition<T extends TSchema = TSchema> {
  readonly key: string
  /** Its `title` and `description` are the setting's English label and help. */
  readonly schema: T
  readonly default: Static<T>
  /** The help text, when the schema has none (`schema.description` otherwise). */
  readonly description?: string
  /** Label, help and option labels in other languages, e.g. `{ 'zh-CN': { title: '…' } }`. */
  readonly locales?: Readonly<Partial<Record<Language, SettingTexts>>>
  /** Readable without admin rights (site name, history mode, ...). */
  readonly public?: boolean
}

export interface SettingInfo {
  readonly key: string
  readonly owner: string
  readonly schema: TSchema
  readonly default: unknown
  readonly value: unknown
  readonly description: string | undefined
  readonly locales: Readonly<Partial<Record<Language, SettingTexts>>>
  readonly public: boolean
}

/** A typed handle on one setting, returned by `define`. */
export interface Setting<T> {
  readonly key: string
  get(): T
  set(value: T): Promise<void>
}

interface Entry {
  readonly definition: SettingDefinition
  readonly owner: string
  value: unknown
}

/**
 * Runtime settings: declared with a schema and a default (from config/env), overridden by rows
 * in `system_config`, read from memory on the hot path. A change is written to the database and
 * announced on the KV channel so every instance reloads it within a second.
 */
export class SettingsRegistry {
  readonly #entries = new Map<string, Entry>()
  readonly #instance = randomUUID()
  #em: (() => EntityManager) | undefined
  #unsubscribe: (() => Promise<void>) | undefined
  #timer: NodeJS.Timeout | undefined
  #retry: NodeJS.Timeout | undefined

  constructor(
    private readonly kv: KeyValueStore,
    private readonly events: EventBus,
    private readonly log: Logger,
  ) {}

  define<T extends TSchema>(definition: SettingDefinition<T>, owner: string): Setting<Static<T>> {
    const { key } = definition
    if (this.#entries.has(key)) throw errors.PARLEY_ERR_SETTING_DUPLICATE({ key })
    if (!Value.Check(definition.schema, definition.default)) {
      throw errors.PARLEY_ERR_SETTING_INVALID({
        key,
        value: printable(key, definition.default),
        expected: `default to be ${describe(definition.schema)}`,
      })
    }
    this.#entries.set(key, { definition: definition as SettingDefinition, owner, value: definition.default })
    return {
      key,
      get: () => this.get(key) as Static<T>,
      set: value => this.set(key, value),
    }
  }

  /**
   * Declares the core settings (docs/configuration.md) with their config/env defaults; their
   * English texts are in the schema, the others in `locales` (by setting key).
   */
  defineCore(
    schema: TSchema & { properties: Record<string, TSchema> },
    defaults: Readonly<SettingsDefaults>,
    locales: Readonly<Record<string, SettingDefinition['locales']>> = {},
  ): void {
    for (const [key, property] of Object.entries(schema.properties)) {
      const texts = locales[key]
      this.define(
        {
          key,
          schema: property,
          default: defaults[key as keyof SettingsDefaults],
          public: PUBLIC_CORE.has(key),
          ...(texts ? { locales: texts } : {}),
        },
        'core',
      )
    }
  }

  get<K extends keyof SettingsDefaults>(key: K): SettingsDefaults[K]
  get(key: string): unknown
  get(key: string): unknown {
    const entry = this.#entries.get(key)
    if (!entry) throw errors.PARLEY_ERR_SETTING_UNKNOWN({ key })
    return entry.value
  }

  list(): SettingInfo[] {
    return [...this.#entries.values()].map(({ definition, owner, value }) => ({
      key: definition.key,
      owner,
      schema: definition.schema,
      default: definition.default,
      value,
      description: definition.description,
      locales: definition.locales ?? {},
      public: definition.public ?? false,
    }))
  }

  /**
   * A setting's label, help and option labels in `language`: its `locales`, then the English of
   * its schema, then (label only) the key made readable, so a form never shows a raw key.
   */
  textsOf(
    key: string,
    language: Language,
  ): { title: string; description: string | undefined; options: Record<string, string> } {
    const entry = this.#entries.get(key)
    if (!entry) throw errors.PARLEY_ERR_SETTING_UNKNOWN({ key })
    const { definition } = entry
    const local = language === 'en' ? undefined : definition.locales?.[language]
    const english = definition.locales?.en
    const schema = definition.schema as TSchema & {
      title?: unknown
      description?: unknown
      anyOf?: Array<{ const?: unknown; title?: unknown }>
    }
    const options: Record<string, string> = {}
    for (const option of schema.anyOf ?? []) {
      if (option.const === undefined) continue
      const value = String(option.const)
      const label =
        local?.options?.[value] ??
        english?.options?.[value] ??
        (typeof option.title === 'string' ? option.title : undefined)
      if (label !== undefined) options[value] = label
    }
    return {
      title: local?.title ?? english?.title ?? (typeof schema.title === 'string' ? schema.title : readableKey(key)),
      description:
        local?.description ??
        english?.description ??
        definition.description ??
        (typeof schema.description === 'string' ? schema.description : undefined),
      options,
    }
  }

  async set(key: string, value: unknown): Promise<void> {
    await this.setMany({ [key]: value })
  }

  /** Validates every value first, so a bad one changes nothing; then writes them together. */
  async setMany(values: Readonly<Record<string, unknown>>): Promise<void> {
    const em = this.requireEm()
    for (const [key, value] of Object.entries(values)) this.check(key, value)
    await em.transactional(async tx => {
      for (const [key, value] of Object.entries(values)) {
        await tx.upsert(SystemConfig, { key, value: JSON.stringify(value), updatedAt: new Date() })
      }
    })
    for (const [key, value] of Object.entries(values)) this.apply(key, value)
    for (const key of Object.keys(values)) {
      await this.kv.publish(CHANGED_CHANNEL, JSON.stringify({ key, origin: this.#instance })).catch(error => {
        this.log.warn({ err: error, key }, 'could not announce a settings change; other instances catch up within 30 s')
      })
    }
  }

  /**
   * Loads stored values and starts listening for changes made on other instances. The database
   * must answer; the KV channel may not (Redis down at boot): then this instance keeps serving,
   * converges through the periodic refresh, and subscribes as soon as the KV answers again.
   */
  async start(em: () => EntityManager): Promise<void> {
    this.#em = em
    await this.refresh()
    this.#timer = setInterval(() => {
      this.refresh().catch(error => this.log.warn({ err: error }, 'settings refresh failed'))
    }, FULL_REFRESH_MS)
    this.#timer.unref()
    await this.subscribe()
  }

  private async subscribe(): Promise<void> {
    try {
      const unsubscribe = await this.kv.subscribe(CHANGED_CHANNEL, message => this.onMessage(message))
      if (this.#em) this.#unsubscribe = unsubscribe
      else await unsubscribe() // stopped while subscribing
    } catch (error) {
      if (!this.#em) return
      this.log.warn(
        { err: error },
        'cannot subscribe to settings changes yet; retrying in 5 s (periodic refresh covers the gap)',
      )
      this.#retry = setTimeout(() => void this.subscribe(), SUBSCRIBE_RETRY_MS)
      this.#retry.unref()
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer)
    clearTimeout(this.#retry)
    this.#em = undefined
    await this.#unsubscribe?.()
    this.#unsubscribe = undefined
  }

  /** Re-reads every stored value; a stored value that no longer fits its schema is ignored. */
  async refresh(keys?: readonly string[]): Promise<void> {
    const em = this.requireEm()
    const rows = await em.find(SystemConfig, keys ? { key: { $in: [...keys] } } : {})
    const stored = new Map(rows.map(row => [row.key, row.value]))
    for (const [key, entry] of this.#entries) {
      if (keys && !keys.includes(key)) continue
      const text = stored.get(key)
      let next = entry.definition.default
      if (text !== undefined) {
        const parsed = parseStored(text)
        if (parsed.ok && Value.Check(entry.definition.schema, parsed.value)) next = parsed.value
        else this.log.warn({ key }, 'stored setting does not fit its schema; using the default')
      }
      this.apply(key, next)
    }
  }

  private onMessage(message: string): void {
    const parsed = parseStored(message)
    if (!parsed.ok) return
    const { key, origin } = parsed.value as { key?: unknown; origin?: unknown }
    if (typeof key !== 'string' || origin === this.#instance || !this.#entries.has(key)) return
    this.refresh([key]).catch(error => this.log.warn({ err: error, key }, 'could not reload a changed setting'))
  }

  private check(key: string, value: unknown): void {
    const entry = this.#entries.get(key)
    if (!entry) throw errors.PARLEY_ERR_SETTING_UNKNOWN({ key }, { details: { field: key } })
    if (!Value.Check(entry.definition.schema, value)) {
      // `field` names the setting, so the console shows the refusal next to its input.
      throw errors.PARLEY_ERR_SETTING_INVALID(
        { key, value: printable(key, value), expected: `expected ${describe(entry.definition.schema)}` },
        { details: { field: key } },
      )
    }
  }

  private apply(key: string, value: unknown): void {
    const entry = this.#entries.get(key)
    if (!entry) return
    const changed = JSON.stringify(entry.value) !== JSON.stringify(value)
    entry.value = value
    if (changed) this.events.emit('settings.changed', { key })
  }

  private requireEm(): EntityManager {
    if (!this.#em) throw errors.PARLEY_ERR_HTTP_UNAVAILABLE({ reason: 'settings are not loaded yet' })
    return this.#em()
  }
}

const PUBLIC_CORE = new Set(['allow_registration', 'allow_guest', 'chat_history_mode', 'site_name', 'site_base_url'])

/** `identity.first_user_becomes_root` → `First user becomes root`: the label of a setting that has no title. */
export function readableKey(key: string): string {
  const words = (key.split('.').at(-1) ?? key).replace(/_/g, ' ').trim()
  return words.charAt(0).toUpperCase() + words.slice(1)
}

function parseStored(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown }
  } catch {
    return { ok: false }
  }
}
