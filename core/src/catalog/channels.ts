import { randomUUID } from 'node:crypto'
import type { EntityManager, InferEntity } from '@mikro-orm/core'
import { errors } from '../errors.js'
import { validate } from '../validation.js'
import { reservedUpstreamHeader } from '../upstream/reserved-headers.js'
import type { Registry } from '../kernel/registry.js'
import type { ChatProvider } from '../pipeline/provider.js'
import { Channel, ChannelKey, ChannelModel, ChatRoute, Model } from './entities.js'
import { maskSecret, type SecretBox } from './secret-box.js'
import type { ChannelTimeouts, ChannelView, ImageDelivery, ProviderView } from './views.js'

/** What an admin sends to create a channel (Appendix A); on update every field is optional. */
export interface ChannelInput {
  name: string
  provider: string
  base_url: string
  /** New keys as strings; on update `{id, enabled}` keeps (and may toggle) an existing key. */
  keys: Array<string | { id: number; enabled?: boolean }>
  models: Array<string | { model: string; upstream_model?: string }>
  rpm_limit: number
  groups: string[]
  priority: number
  weight: number
  enabled: boolean
  settings: Record<string, unknown>
  image_delivery: ImageDelivery
  timeouts: ChannelTimeouts
}

/** What the API answers: keys only as hints, secret settings only as hints. */

type ChannelRow = InferEntity<typeof Channel>

export type { ChannelView, ProviderView } from './views.js'

/** Seals and unseals everything secret about a channel; the only place that sees plaintext keys. */
export class ChannelStore {
  constructor(
    private readonly box: SecretBox,
    private readonly providers: Registry<ChatProvider>,
  ) {}

  async list(em: EntityManager, page: number, pageSize: number): Promise<{ items: ChannelView[]; total: number }> {
    const [rows, total] = await em.findAndCount(
      Channel,
      {},
      { orderBy: { priority: 'desc', id: 'asc' }, limit: pageSize, offset: (page - 1) * pageSize },
    )
    return { items: await this.views(em, rows), total }
  }

  async get(em: EntityManager, id: number): Promise<ChannelView> {
    const row = await em.findOne(Channel, { id })
    if (!row) throw errors.PARLEY_ERR_CATALOG_CHANNEL_NOT_FOUND({ id })
    return (await this.views(em, [row]))[0] as ChannelView
  }

  /** `input.base_url` must already have passed the SSRF check. All or nothing: a bad model list stores no channel. */
  async create(em: EntityManager, input: ChannelInput): Promise<ChannelView> {
    const id = await em.transactional(tx => this.insert(tx, input))
    return this.get(em.fork(), id)
  }

  private async insert(em: EntityManager, input: ChannelInput): Promise<number> {
    const provider = this.provider(input.provider)
    await this.assertNameFree(em, input.name)
    const row = em.create(Channel, {
      name: input.name,
      provider: input.provider,
      baseUrl: input.base_url,
      rpmLimit: input.rpm_limit,
      groups: JSON.stringify(unique(input.groups)),
      priority: input.priority,
      weight: input.weight,
      enabled: input.enabled,
      settings: '{}',
      imageDelivery: input.image_delivery,
      connectTimeoutMs: input.timeouts.connect_ms,
      firstByteTimeoutMs: input.timeouts.first_byte_ms,
      idleTimeoutMs: input.timeouts.idle_ms,
    })
    await em.flush()
    row.settings = JSON.stringify(this.sealSettings(provider, row.id, input.settings, {}))
    await this.replaceKeys(em, row.id, input.keys)
    await this.replaceModels(em, row.id, input.models)
    await em.flush()
    return row.id
  }

  async update(em: EntityManager, id: number, input: Partial<ChannelInput>): Promise<ChannelView> {
    await em.transactional(tx => this.change(tx, id, input))
    return this.get(em.fork(), id)
  }

  private async change(em: EntityManager, id: number, input: Partial<ChannelInput>): Promise<void> {
    const row = await em.findOne(Channel, { id })
    if (!row) throw errors.PARLEY_ERR_CATALOG_CHANNEL_NOT_FOUND({ id })
    const provider = this.provider(input.provider ?? row.provider)
    if (input.name !== undefined && input.name !== row.name) await this.assertNameFree(em, input.name)
    if (input.enabled === false || input.groups !== undefined) await this.assertRoutesStillValid(em, row.id, input)
    if (input.name !== undefined) row.name = input.name
    if (input.provider !== undefined) row.provider = input.provider
    if (input.base_url !== undefined) row.baseUrl = input.base_url
    if (input.rpm_limit !== undefined) row.rpmLimit = input.rpm_limit
    if (input.groups !== undefined) row.groups = JSON.stringify(unique(input.groups))
    if (input.priority !== undefined) row.priority = input.priority
    if (input.weight !== undefined) row.weight = input.weight
    if (input.enabled !== undefined) row.enabled = input.enabled
    if (input.image_delivery !== undefined) row.imageDelivery = input.image_delivery
    if (input.timeouts !== undefined) {
      row.connectTimeoutMs = input.timeouts.connect_ms
      row.firstByteTimeoutMs = input.timeouts.first_byte_ms
      row.idleTimeoutMs = input.timeouts.idle_ms
    }
    if (input.settings !== undefined)
      row.settings = JSON.stringify(this.sealSettings(provider, row.id, input.settings, parse(row.settings)))
    if (input.keys !== undefined) await this.replaceKeys(em, row.id, input.keys)
    if (input.models !== undefined) await this.replaceModels(em, row.id, input.models)
    await em.flush()
  }

  async delete(em: EntityManager, id: number): Promise<void> {
    await em.transactional(tx => this.remove(tx, id))
  }

  private async remove(em: EntityManager, id: number): Promise<void> {
    const row = await em.findOne(Channel, { id })
    if (!row) throw errors.PARLEY_ERR_CATALOG_CHANNEL_NOT_FOUND({ id })
    const routes = await em.find(ChatRoute, { channelId: id })
    if (routes.length > 0)
      throw errors.PARLEY_ERR_CATALOG_CHANNEL_ROUTED({ groups: routes.map(r => r.groupName).join(', ') })
    await em.nativeDelete(ChannelKey, { channelId: id })
    await em.nativeDelete(ChannelModel, { channelId: id })
    await em.removeAndFlush(row)
  }

  /**
   * `parley re-encrypt`: seals every stored secret with the current ENCRYPTION_KEY, so the
   * previous key can be removed from ENCRYPTION_KEY_PREVIOUS. Idempotent; returns the count.
   */
  async reencrypt(em: EntityManager): Promise<{ keys: number; settings: number }> {
    return em.transactional(async tx => {
      let keys = 0
      let settings = 0
      for (const key of await tx.find(ChannelKey, {})) {
        if (this.box.isCurrent(key.sealed)) continue
        key.sealed = this.box.reseal(key.sealed, keyContext(key.uid))
        keys++
      }
      for (const channel of await tx.find(Channel, {})) {
        const values = parse(channel.settings)
        let touched = false
        for (const [name, value] of Object.entries(values)) {
          const sealed = (value as { sealed?: unknown } | null)?.sealed
          if (typeof sealed !== 'string' || this.box.isCurrent(sealed)) continue
          values[name] = { ...(value as object), sealed: this.box.reseal(sealed, settingContext(channel.id, name)) }
          touched = true
          settings++
        }
        if (touched) channel.settings = JSON.stringify(values)
      }
      await tx.flush()
      return { keys, settings }
    })
  }

  /** Plaintext keys of a channel, for the data plane's snapshot (never for an API answer). */
  async openKeys(em: EntityManager, channelId: number): Promise<Array<{ id: number; key: string }>> {
    const keys = await em.find(ChannelKey, { channelId, enabled: true }, { orderBy: { id: 'asc' } })
    return keys.map(key => this.openKey(key))
  }

  /** One stored key opened; throws when it cannot be (another ENCRYPTION_KEY, a damaged row). */
  openKey(row: { readonly id: number; readonly uid: string; readonly sealed: string }): { id: number; key: string } {
    return { id: row.id, key: this.box.open(row.sealed, keyContext(row.uid)) }
  }

  /** A channel with its enabled keys and secret settings opened, for the channel test (admin only). */
  async open(
    em: EntityManager,
    id: number,
  ): Promise<{ view: ChannelView; keys: Array<{ id: number; key: string }>; settings: Record<string, unknown> }> {
    const row = await em.findOne(Channel, { id })
    if (!row) throw errors.PARLEY_ERR_CATALOG_CHANNEL_NOT_FOUND({ id })
    const view = (await this.views(em, [row]))[0] as ChannelView
    return { view, keys: await this.openKeys(em, id), settings: this.openSettings(id, row.settings) }
  }

  /** Provider settings with the sealed ones opened, for the data plane's snapshot (never for an API answer). */
  openSettings(channelId: number, stored: string): Record<string, unknown> {
    const values = parse(stored)
    const out: Record<string, unknown> = {}
    for (const [name, value] of Object.entries(values)) {
      const sealed = (value as { sealed?: unknown } | null)?.sealed
      out[name] = typeof sealed === 'string' ? this.box.open(sealed, settingContext(channelId, name)) : value
    }
    return out
  }

  /** The installed providers and what the console needs to draw a channel's settings form. */
  providerList(): ProviderView[] {
    return this.providers.list().map(({ id, owner, item }) => ({
      id,
      plugin: owner,
      passthrough: item.passthrough !== undefined,
      settings_schema: item.settingsSchema ?? null,
      secret_settings: [...(item.secretSettings ?? [])],
    }))
  }

  private provider(id: string): ChatProvider {
    const provider = this.providers.get(id)
    if (!provider) {
      const known =
        this.providers
          .list()
          .map(entry => entry.id)
          .join(', ') || 'none installed'
      throw errors.PARLEY_ERR_CATALOG_PROVIDER_UNKNOWN({ provider: id, known })
    }
    return provider
  }

  private async assertNameFree(em: EntityManager, name: string): Promise<void> {
    if (await em.findOne(Channel, { name })) throw errors.PARLEY_ERR_CATALOG_CHANNEL_NAME_TAKEN({ name })
  }

  /** A chat route must keep pointing at an enabled channel that serves its group. */
  private async assertRoutesStillValid(
    em: EntityManager,
    channelId: number,
    input: Partial<ChannelInput>,
  ): Promise<void> {
    const routes = await em.find(ChatRoute, { channelId })
    for (const route of routes) {
      if (input.enabled === false || (input.groups && !input.groups.includes(route.groupName))) {
        throw errors.PARLEY_ERR_CATALOG_CHANNEL_ROUTED({ groups: routes.map(r => r.groupName).join(', ') })
      }
    }
  }

  private async replaceKeys(em: EntityManager, channelId: number, keys: ChannelInput['keys']): Promise<void> {
    const existing = await em.find(ChannelKey, { channelId })
    const kept = new Map<number, boolean | undefined>()
    for (const key of keys) if (typeof key !== 'string') kept.set(key.id, key.enabled)
    for (const row of existing) {
      if (!kept.has(row.id)) em.remove(row)
      else if (kept.get(row.id) !== undefined) {
        row.enabled = kept.get(row.id) as boolean
        // An admin's say replaces the gateway's: no notice about a key they enabled or disabled.
        row.disabledReason = null
        row.disabledAt = null
      }
    }
    for (const id of kept.keys()) {
      if (!existing.some(row => row.id === id)) throw errors.PARLEY_ERR_CATALOG_KEY_NOT_FOUND({ id })
    }
    for (const key of keys) {
      if (typeof key !== 'string') continue
      const uid = randomUUID()
      em.create(ChannelKey, { uid, channelId, sealed: this.box.seal(key, keyContext(uid)), hint: maskSecret(key) })
    }
  }

  private async replaceModels(em: EntityManager, channelId: number, models: ChannelInput['models']): Promise<void> {
    const bindings = new Map<string, string>()
    for (const entry of models) {
      const model = typeof entry === 'string' ? entry : entry.model
      const upstream = typeof entry === 'string' ? entry : (entry.upstream_model ?? entry.model)
      if (bindings.has(model)) throw errors.PARLEY_ERR_CATALOG_MODEL_TWICE({ model })
      bindings.set(model, upstream)
    }
    await em.nativeDelete(ChannelModel, { channelId })
    for (const [model, upstreamModel] of bindings) {
      // A model a channel names that the catalog lacks is added, enabled (Appendix A).
      if (!(await em.findOne(Model, { name: model }))) em.create(Model, { name: model, displayName: model })
      em.create(ChannelModel, { channelId, model, upstreamModel })
    }
  }

  private sealSettings(
    provider: ChatProvider,
    channelId: number,
    settings: Record<string, unknown>,
    previous: Record<string, unknown>,
  ): Record<string, unknown> {
    let out: Record<string, unknown> = { ...settings }
    if (provider.settingsSchema) {
      const checked = validate(provider.settingsSchema, out)
      if (!checked.ok) {
        const problems = checked.problems.map(p => `settings.${p.key}: ${p.expected}`).join('; ')
        throw errors.PARLEY_ERR_CATALOG_SETTINGS_INVALID({ problems })
      }
      out = checked.value as Record<string, unknown>
    }
    // By convention a provider's `headers` setting is the channel's extra request headers.
    const headers = out.headers
    if (typeof headers === 'object' && headers !== null)
      for (const name of Object.keys(headers))
        if (reservedUpstreamHeader(name)) throw errors.PARLEY_ERR_CATALOG_HEADER_RESERVED({ name })
    for (const key of provider.secretSettings ?? []) {
      const value = settings[key]
      if (value === undefined || value === null || value === '') {
        // Absent on update means "keep": forms never see the secret, so they cannot resend it.
        if (previous[key] !== undefined && value === undefined) out[key] = previous[key]
        continue
      }
      if (typeof value !== 'string') throw errors.PARLEY_ERR_CATALOG_SETTING_SECRET({ key })
      out[key] = { sealed: this.box.seal(value, settingContext(channelId, key)), hint: maskSecret(value) }
    }
    return out
  }

  private async views(em: EntityManager, rows: ChannelRow[]): Promise<ChannelView[]> {
    const ids = rows.map(row => row.id)
    const keys = ids.length ? await em.find(ChannelKey, { channelId: { $in: ids } }, { orderBy: { id: 'asc' } }) : []
    const models = ids.length
      ? await em.find(ChannelModel, { channelId: { $in: ids } }, { orderBy: { id: 'asc' } })
      : []
    return rows.map(row => {
      const secret = new Set(this.providers.get(row.provider)?.secretSettings ?? [])
      const settings = parse(row.settings)
      for (const key of secret) {
        const value = settings[key] as { hint?: string } | undefined
        if (value) settings[key] = { hint: value.hint ?? '…' }
      }
      return {
        id: row.id,
        name: row.name,
        provider: row.provider,
        base_url: row.baseUrl,
        keys: keys.filter(k => k.channelId === row.id).map(keyView),
        models: models
          .filter(m => m.channelId === row.id)
          .map(m => ({ model: m.model, upstream_model: m.upstreamModel })),
        rpm_limit: row.rpmLimit,
        groups: parse<string[]>(row.groups, []),
        priority: row.priority,
        weight: row.weight,
        enabled: row.enabled,
        settings,
        image_delivery: imageDeliveryOf(row.imageDelivery),
        timeouts: {
          connect_ms: row.connectTimeoutMs ?? null,
          first_byte_ms: row.firstByteTimeoutMs ?? null,
          idle_ms: row.idleTimeoutMs ?? null,
        },
        created_at: row.createdAt.toISOString(),
        updated_at: row.updatedAt.toISOString(),
      }
    })
  }
}

function keyView(key: InferEntity<typeof ChannelKey>): ChannelView['keys'][number] {
  return {
    id: key.id,
    hint: key.hint,
    enabled: key.enabled,
    disabled_reason: key.disabledReason ?? null,
    disabled_at: key.disabledAt?.toISOString() ?? null,
  }
}

/** The associated data that binds a sealed key to its row. */
export function keyContext(uid: string): string {
  return `channel-key:${uid}`
}

export function settingContext(channelId: number, key: string): string {
  return `channel-setting:${channelId}:${key}`
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)]
}

function parse<T = Record<string, unknown>>(text: string, fallback?: T): T {
  try {
    return JSON.parse(text) as T
  } catch {
    return (fallback ?? {}) as T
  }
}

/** The stored `image_delivery`, read leniently: anything unknown is the default. */
export function imageDeliveryOf(value: string): ImageDelivery {
  return value === 'url' || value === 'inline' ? value : 'auto'
}
