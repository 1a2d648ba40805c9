import { randomBytes } from 'node:crypto'
import type { EntityManager, InferEntity, KeyValueStore, Logger, SecretBox } from '@parley/core'
import { parseRange, type AddressRange } from './addresses.js'
import { WidgetClient } from './entities.js'

export type WidgetClientRow = InferEntity<typeof WidgetClient>

/** How long an instance trusts its copy of a client; changes are also announced at once. */
const CACHE_MS = 10_000
const CHANGED_CHANNEL = 'widget:clients:changed'
/** Public ids: `wc_` and 20 hex digits. */
export const CLIENT_ID_PATTERN = '^wc_[0-9a-f]{20}$'
/** Secrets: `wsk_` and 43 base64url characters (32 random bytes). */
const SECRET_PREFIX = 'wsk_'

/** What the data plane needs of a client, secrets opened, ranges parsed. */
export interface ClientView {
  readonly id: number
  readonly clientId: string
  readonly name: string
  /** The current secret first; the previous one while its overlap window lasts. */
  readonly secrets: ReadonlyArray<{ readonly secret: string; readonly until: number }>
  readonly ranges: readonly AddressRange[]
  readonly origins: readonly string[]
  readonly model: string
  readonly greeting: string
  readonly themeColor: string
  readonly rpm: number
  readonly transcripts: boolean
  readonly enabled: boolean
}

export function newClientId(): string {
  return `wc_${randomBytes(10).toString('hex')}`
}

export function newSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64url')
}

/** The sealing context: a sealed secret copied to another client does not open. */
export function secretContext(clientId: string): string {
  return `widget-secret:${clientId}`
}

/**
 * Widget clients as the session exchange and the chat routes read them: from a short cache,
 * dropped on every instance when an admin changes one (KV message).
 */
export class WidgetClients {
  readonly #cache = new Map<string, { view: ClientView | undefined; at: number }>()
  #unsubscribe: (() => Promise<void>) | undefined

  constructor(
    private readonly em: () => EntityManager,
    private readonly box: SecretBox,
    private readonly kv: KeyValueStore,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    try {
      this.#unsubscribe = await this.kv.subscribe(CHANGED_CHANNEL, clientId => void this.#cache.delete(clientId))
    } catch (error) {
      this.log.warn({ err: error }, 'cannot subscribe to widget client changes; copies expire within 10 s instead')
    }
  }

  async stop(): Promise<void> {
    await this.#unsubscribe?.()
  }

  /** The client, or undefined when there is none (a disabled one is returned: callers refuse it). */
  async find(clientId: string): Promise<ClientView | undefined> {
    const cached = this.#cache.get(clientId)
    if (cached && performance.now() - cached.at < CACHE_MS) return cached.view
    const row = await this.em().findOne(WidgetClient, { clientId })
    const view = row ? this.view(row) : undefined
    this.#cache.set(clientId, { view, at: performance.now() })
    return view
  }

  /** Forgets a client here and on every other instance. */
  async changed(clientId: string): Promise<void> {
    this.#cache.delete(clientId)
    await this.kv.publish(CHANGED_CHANNEL, clientId).catch(() => undefined)
  }

  view(row: WidgetClientRow): ClientView {
    const context = secretContext(row.clientId)
    const secrets: Array<{ secret: string; until: number }> = []
    const open = (sealed: string, until: number) => {
      try {
        secrets.push({ secret: this.box.open(sealed, context), until })
      } catch (error) {
        // ENCRYPTION_KEY changed without re-encrypt-widget-clients: its signatures fail (401), never a 500.
        this.log.error({ err: error, widget_client: row.clientId }, 'a widget client secret does not open')
      }
    }
    open(row.secretSealed, Infinity)
    if (row.previousSecretSealed && row.previousSecretUntil && row.previousSecretUntil.getTime() > Date.now())
      open(row.previousSecretSealed, row.previousSecretUntil.getTime())
    return {
      id: row.id,
      clientId: row.clientId,
      name: row.name,
      secrets,
      ranges: listOf(row.allowedIps).map(parseRange),
      origins: listOf(row.allowedOrigins),
      model: row.model,
      greeting: row.greeting,
      themeColor: row.themeColor,
      rpm: row.rpm,
      transcripts: row.transcripts,
      enabled: row.enabled,
    }
  }
}

export function listOf(json: string): string[] {
  try {
    const value = JSON.parse(json) as unknown
    return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []
  } catch {
    return []
  }
}
