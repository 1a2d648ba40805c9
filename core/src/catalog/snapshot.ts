import type { EntityManager } from '@mikro-orm/core'
import type { KeyValueStore } from '../kv/port.js'
import type { Logger } from '../logger.js'
import { imageDeliveryOf, type ChannelStore } from './channels.js'
import type { ImageDelivery } from './views.js'
import { Channel, ChannelKey, ChannelModel, ChatRoute, Model } from './entities.js'

/** KV channel on which a catalog change is announced, so every instance reloads its snapshot. */
export const CATALOG_CHANGED = 'catalog:changed'
/** Safety net when a change message is lost (Redis blip): snapshots converge within this time. */
const FULL_RELOAD_MS = 60_000

export interface RoutableChannel {
  readonly id: number
  readonly name: string
  readonly provider: string
  readonly baseUrl: string
  readonly rpmLimit: number
  readonly groups: ReadonlySet<string>
  readonly priority: number
  readonly weight: number
  /** Provider settings, secret ones opened once per snapshot (memory only). */
  readonly settings: Readonly<Record<string, unknown>>
  /** How stored images reach the upstream (object-delivery.ts); absent: `auto`. */
  readonly imageDelivery?: ImageDelivery
  /** The channel's own upstream timeouts; absent (the usual case): the config's. */
  readonly timeouts?: ChannelTimeoutsMs
  /** Enabled keys, opened once per snapshot, never per request. */
  readonly keys: ReadonlyArray<{ readonly id: number; readonly key: string }>
  /** Catalog model name → the upstream's name for it. */
  readonly models: ReadonlyMap<string, string>
}

export interface ModelInfo {
  readonly name: string
  readonly displayName: string
  readonly reasoning: boolean
  readonly vision: boolean
}

/** Everything routing needs, in memory: enabled channels and models, and chat routes. */
export interface CatalogSnapshot {
  readonly channels: readonly RoutableChannel[]
  readonly models: ReadonlyMap<string, ModelInfo>
  /** Group → channel id: the group's chat route. */
  readonly chatRoutes: ReadonlyMap<string, number>
  readonly loadedAt: Date
}

export const EMPTY_SNAPSHOT: CatalogSnapshot = Object.freeze({
  channels: [],
  models: new Map(),
  chatRoutes: new Map(),
  loadedAt: new Date(0),
})

/**
 * Reads the catalog once; the only queries routing ever causes, and only on a change. A secret
 * that cannot be opened (ENCRYPTION_KEY changed without `parley re-encrypt`, a damaged row)
 * takes its key, or its channel, out of routing with an error in the log; the rest of the
 * catalog keeps serving.
 */
export async function loadSnapshot(em: EntityManager, store: ChannelStore, log?: Logger): Promise<CatalogSnapshot> {
  const [channels, bindings, models, routes, keys] = await Promise.all([
    em.find(Channel, { enabled: true }, { orderBy: { priority: 'desc', id: 'asc' } }),
    em.find(ChannelModel, {}),
    em.find(Model, { enabled: true }),
    em.find(ChatRoute, {}),
    em.find(ChannelKey, {}, { orderBy: { id: 'asc' } }),
  ])
  const routable: RoutableChannel[] = []
  const hint = 'was ENCRYPTION_KEY changed without `parley re-encrypt`?'
  for (const channel of channels) {
    let settings: Record<string, unknown>
    try {
      settings = store.openSettings(channel.id, channel.settings)
    } catch {
      log?.error(
        { channel: channel.name, channel_id: channel.id, hint },
        'a secret setting of this channel cannot be opened; the channel is left out of routing',
      )
      continue
    }
    const all = keys.filter(key => key.channelId === channel.id)
    const stored = all.filter(key => key.enabled)
    const opened: Array<{ id: number; key: string }> = []
    for (const key of stored) {
      try {
        opened.push(store.openKey(key))
      } catch {
        log?.error(
          { channel: channel.name, channel_id: channel.id, key_id: key.id, hint },
          'a key of this channel cannot be opened; the key is left out of routing',
        )
      }
    }
    // A channel whose every key is unreadable or disabled would be called with none: leave it out.
    if (all.length > 0 && opened.length === 0) continue
    routable.push(
      Object.freeze({
        id: channel.id,
        name: channel.name,
        provider: channel.provider,
        baseUrl: channel.baseUrl,
        rpmLimit: channel.rpmLimit,
        groups: new Set(parseList(channel.groups)),
        priority: channel.priority,
        weight: channel.weight,
        settings: Object.freeze(settings),
        imageDelivery: imageDeliveryOf(channel.imageDelivery),
        // Always present (undefined in the usual case): every channel object has one shape.
        timeouts: timeoutsOf(channel),
        keys: Object.freeze(opened),
        models: new Map(bindings.filter(b => b.channelId === channel.id).map(b => [b.model, b.upstreamModel])),
      }),
    )
  }
  return Object.freeze({
    channels: Object.freeze(routable),
    models: new Map(
      models.map(m => [
        m.name,
        Object.freeze({ name: m.name, displayName: m.displayName || m.name, reasoning: m.reasoning, vision: m.vision }),
      ]),
    ),
    chatRoutes: new Map(routes.map(r => [r.groupName, r.channelId])),
    loadedAt: new Date(),
  })
}

/**
 * The current snapshot of every instance, swapped whole on a change: requests read it
 * synchronously and never see a half-loaded catalog. Reloads on `catalog:changed` from any
 * instance and every minute as a safety net. A failed reload keeps the previous snapshot.
 */
export class CatalogCache {
  #current: CatalogSnapshot = EMPTY_SNAPSHOT
  #loading: Promise<void> | undefined
  #again = false
  #timer: NodeJS.Timeout | undefined
  #unsubscribe: (() => Promise<void>) | undefined

  constructor(
    private readonly load: () => Promise<CatalogSnapshot>,
    private readonly kv: KeyValueStore,
    private readonly log: Logger,
  ) {}

  current(): CatalogSnapshot {
    return this.#current
  }

  async start(): Promise<void> {
    await this.reload()
    this.#timer = setInterval(() => void this.reload(), FULL_RELOAD_MS)
    this.#timer.unref()
    try {
      this.#unsubscribe = await this.kv.subscribe(CATALOG_CHANGED, () => void this.reload())
    } catch (error) {
      this.log.warn({ err: error }, 'cannot subscribe to catalog changes; snapshots refresh every minute instead')
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer)
    await this.#unsubscribe?.()
    await this.#loading
  }

  /** Coalesces bursts: one load at a time, and one more if changes arrived meanwhile. */
  reload(): Promise<void> {
    if (this.#loading) {
      this.#again = true
      return this.#loading
    }
    this.#loading = (async () => {
      do {
        this.#again = false
        try {
          this.#current = await this.load()
        } catch (error) {
          this.log.error({ err: error }, 'catalog reload failed; serving the previous snapshot')
        }
      } while (this.#again)
    })().finally(() => {
      this.#loading = undefined
    })
    return this.#loading
  }
}

function parseList(text: string): string[] {
  try {
    const value = JSON.parse(text) as unknown
    return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []
  } catch {
    return []
  }
}

/** A channel's own timeouts in ms; each absent one is the config's. */
export interface ChannelTimeoutsMs {
  readonly connectMs?: number
  readonly firstByteMs?: number
  readonly idleMs?: number
}

function timeoutsOf(channel: {
  connectTimeoutMs?: number | null
  firstByteTimeoutMs?: number | null
  idleTimeoutMs?: number | null
}): ChannelTimeoutsMs | undefined {
  const { connectTimeoutMs: connect, firstByteTimeoutMs: firstByte, idleTimeoutMs: idle } = channel
  if (connect == null && firstByte == null && idle == null) return undefined
  return Object.freeze({
    ...(connect == null ? {} : { connectMs: connect }),
    ...(firstByte == null ? {} : { firstByteMs: firstByte }),
    ...(idle == null ? {} : { idleMs: idle }),
  })
}
