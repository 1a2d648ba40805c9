import { setTimeout as sleep } from 'node:timers/promises'
import type { KeyValueStore, Logger } from '@parley/core'
import type { Dispatcher } from 'undici'
import type { OAuthApp } from './settings.js'
import { exchangeToken, ExchangeError, type AccessToken } from './token-exchange.js'
import { appFingerprint, type TokenSeal } from './token-seal.js'

/** A token is refreshed this long before it dies at most… */
const MAX_REFRESH_MARGIN_MS = 5 * 60_000
/** …and at most this share of its lifetime before (short-lived tokens). */
const REFRESH_MARGIN_SHARE = 0.2
/** Longer than an exchange may take, so a crashed holder frees the lock by itself. */
const LOCK_TTL_MS = 20_000
/** How often an instance that lost the race looks for the winner's token. */
const POLL_MS = 50
/** A token due for refresh still serves while a refresh fails, unless it is this close to dying. */
const LAST_USE_MARGIN_MS = 5_000

export interface TokenStoreOptions {
  readonly kv: KeyValueStore
  readonly seal: TokenSeal
  readonly log: Logger
  /** After a failed exchange, this instance does not try again for this long. */
  readonly retryAfterMs: number
  readonly now?: () => number
}

export type TokenResult =
  | { readonly ok: true; readonly token: string }
  /** `first`: this call saw the exchange fail (the others share its result or wait out the pause). */
  | { readonly ok: false; readonly error: ExchangeError; readonly first: boolean }

interface Cached extends AccessToken {
  /** When to get a new one: shortly before `expiresAt`. */
  readonly refreshAt: number
}

/**
 * Coze OAuth access tokens, one per app identity, shared by every instance through the KV store
 * (sealed) and kept in memory until their refresh time. One exchange at a time: calls on this
 * instance share one promise, and instances take a KV lock (`onlyIfAbsent`) while the others
 * poll for the winner's token. A failed exchange pauses OAuth on this instance for
 * `retryAfterMs`, so a broken key costs one round trip, not one per call.
 */
export class TokenStore {
  readonly #memory = new Map<string, Cached>()
  readonly #flights = new Map<string, Promise<Cached>>()
  readonly #paused = new Map<string, { error: ExchangeError; until: number }>()
  readonly #now: () => number

  constructor(private readonly options: TokenStoreOptions) {
    this.#now = options.now ?? Date.now
  }

  async token(baseUrl: string, app: OAuthApp, dispatcher: Dispatcher): Promise<TokenResult> {
    const id = appFingerprint(baseUrl, app)
    const memo = this.#memory.get(id)
    if (memo && memo.refreshAt > this.#now()) return { ok: true, token: memo.token }
    // When a refresh fails, the old token serves out its last minutes rather than the PAT.
    const stale = () => (memo && memo.expiresAt - LAST_USE_MARGIN_MS > this.#now() ? memo.token : undefined)
    const paused = this.#paused.get(id)
    if (paused && paused.until > this.#now()) {
      const token = stale()
      return token ? { ok: true, token } : { ok: false, error: paused.error, first: false }
    }
    let flight = this.#flights.get(id)
    const first = flight === undefined
    if (!flight) {
      flight = this.obtain(id, baseUrl, app, dispatcher).then(
        token => {
          this.#paused.delete(id)
          return token
        },
        (error: unknown) => {
          const failure = error instanceof ExchangeError ? error : new ExchangeError('the token exchange failed')
          this.#paused.set(id, { error: failure, until: this.#now() + this.options.retryAfterMs })
          throw failure
        },
      )
      const shared = flight
      void shared.finally(() => this.#flights.delete(id)).catch(() => undefined)
      this.#flights.set(id, shared)
    }
    try {
      return { ok: true, token: (await flight).token }
    } catch (error) {
      const token = stale()
      if (token) {
        if (first)
          this.options.log.warn(
            { app_id: app.appId, reason: (error as ExchangeError).reason },
            'Coze OAuth token refresh failed; the current token serves until it expires',
          )
        return { ok: true, token }
      }
      return { ok: false, error: error as ExchangeError, first }
    }
  }

  /** Coze refused `token`: forget it here and in the shared cache (unless it was replaced already). */
  async rejected(baseUrl: string, app: OAuthApp, token: string): Promise<void> {
    const id = appFingerprint(baseUrl, app)
    if (this.#memory.get(id)?.token === token) this.#memory.delete(id)
    if ((await this.read(id))?.token === token) await this.options.kv.delete(cacheKey(id)).catch(() => false)
  }

  private async obtain(id: string, baseUrl: string, app: OAuthApp, dispatcher: Dispatcher): Promise<Cached> {
    const deadline = this.#now() + LOCK_TTL_MS
    for (;;) {
      const cached = await this.read(id)
      if (cached) return this.remember(id, cached)
      if (await this.lock(id)) {
        try {
          // Another instance may have stored a token between our read and our lock.
          const stored = await this.read(id)
          if (stored) return this.remember(id, stored)
          const now = this.#now()
          const fresh = await exchangeToken(baseUrl, app, dispatcher, now)
          const token: Cached = {
            ...fresh,
            refreshAt:
              fresh.expiresAt - Math.min(MAX_REFRESH_MARGIN_MS, (fresh.expiresAt - now) * REFRESH_MARGIN_SHARE),
          }
          await this.write(id, token)
          this.options.log.info(
            { app_id: app.appId, expires_at: new Date(token.expiresAt).toISOString() },
            'Coze OAuth access token obtained',
          )
          return this.remember(id, token)
        } finally {
          await this.options.kv.delete(lockKey(id)).catch(() => false)
        }
      }
      if (this.#now() >= deadline) throw new ExchangeError('another instance held the token exchange lock for too long')
      await sleep(POLL_MS)
    }
  }

  private remember(id: string, token: Cached): Cached {
    this.#memory.set(id, token)
    return token
  }

  /** The shared token if it is there, opens, and is not yet due for refresh. A broken KV is a miss. */
  private async read(id: string): Promise<Cached | undefined> {
    let sealed: string | null
    try {
      sealed = await this.options.kv.get(cacheKey(id))
    } catch (error) {
      this.kvTrouble('read', error)
      return undefined
    }
    const text = sealed === null ? undefined : this.options.seal.open(sealed, cacheKey(id))
    if (text === undefined) return undefined
    try {
      const value = JSON.parse(text) as { t?: unknown; e?: unknown; r?: unknown }
      if (typeof value.t !== 'string' || typeof value.e !== 'number' || typeof value.r !== 'number') return undefined
      return value.r > this.#now() ? { token: value.t, expiresAt: value.e, refreshAt: value.r } : undefined
    } catch {
      return undefined
    }
  }

  private async write(id: string, token: Cached): Promise<void> {
    const ttlMs = Math.floor(token.refreshAt - this.#now())
    if (ttlMs <= 0) return
    const sealed = this.options.seal.seal(
      JSON.stringify({ t: token.token, e: token.expiresAt, r: token.refreshAt }),
      cacheKey(id),
    )
    await this.options.kv.set(cacheKey(id), sealed, { ttlMs }).catch((error: unknown) => this.kvTrouble('write', error))
  }

  /** Without a working KV, each instance exchanges for itself rather than serve nothing. */
  private async lock(id: string): Promise<boolean> {
    try {
      return await this.options.kv.set(lockKey(id), '1', { onlyIfAbsent: true, ttlMs: LOCK_TTL_MS })
    } catch (error) {
      this.kvTrouble('lock', error)
      return true
    }
  }

  private kvTrouble(step: string, error: unknown): void {
    this.options.log.warn(
      { step, error: error instanceof Error ? error.name : 'error' },
      'Coze token cache: the KV store failed; exchanging without it',
    )
  }
}

function cacheKey(id: string): string {
  return `coze:token:${id}`
}

function lockKey(id: string): string {
  return `coze:token-lock:${id}`
}
