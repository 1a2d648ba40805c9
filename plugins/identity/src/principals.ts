import {
  andThen,
  type AuthStrategy,
  type EntityManager,
  type FastifyRequest,
  type KeyValueStore,
  type Logger,
  type MaybePromise,
  type Principal,
} from '@parley/core'
import { isWellFormedApiToken, sha256, API_TOKEN_PREFIX } from './api-token-format.js'
import { CHAT_TOKEN_NAME } from './api-tokens.js'
import { consoleCredential } from './console-session.js'
import { ApiToken, Group, User } from './entities.js'
import { GUEST_PASS_HEADER } from './guest-pass.js'
import { identityErrors } from './errors.js'
import { looksLikeJwt, type AccessTokens } from './jwt.js'
import { LookupCache } from './lookup-cache.js'
import { Revocations } from './revocations.js'
import { checkTokenLimits, QuotaCounter, tokenLimitsOf, type TokenLimits } from './token-limits.js'
import type { Role } from './users.js'

const CACHE_TTL_MS = 10_000
const CACHE_MAX = 10_000
const INVALIDATE_CHANNEL = 'identity:invalidate'
/** last_used_at is for humans; writing it more than once a minute per token is waste. */
const LAST_USED_EVERY_MS = 60_000

interface CachedUser {
  readonly id: number
  readonly role: Role
  readonly group: string
  readonly name: string
  readonly active: boolean
  /** Access tokens signed under another epoch (before a password change) are refused. */
  readonly sessionEpoch: number
  /** What the user's group adds to the principal, made once per load (not per request). */
  readonly limits: GroupLimits
}

/** The principal fields a group sets: its own requests per minute and its model list, each when it has one. */
interface GroupLimits {
  readonly groupRpm?: number
  readonly groupModels?: readonly string[]
}

const NO_GROUP_LIMITS: GroupLimits = Object.freeze({})

interface CachedToken {
  readonly id: number
  readonly userId: number
  /** The portal's own `chat` token. */
  readonly portal: boolean
  /** Expiry, switch, addresses, models, RPM, quota: undefined when it has none (most tokens). */
  readonly limits: TokenLimits | undefined
}

/**
 * Turns credentials into a principal: an access JWT, an API token (Bearer or x-api-key), or a
 * guest when guest access is on. User and token lookups are cached for a few seconds and
 * dropped on every instance when a user changes or a token is revoked.
 */
export class Principals {
  readonly #users = new LookupCache<number, CachedUser | null>(CACHE_TTL_MS, CACHE_MAX)
  readonly #tokens = new LookupCache<string, CachedToken | null>(CACHE_TTL_MS, CACHE_MAX)
  /** Guests' groups by name (guests have no user row to carry them). */
  readonly #groups = new LookupCache<string, GroupLimits>(CACHE_TTL_MS, CACHE_MAX)
  /** Well-formed tokens seen lately and their hashes (`hashOf`). */
  readonly #hashes = new Map<string, string>()
  /** By token hash, not id: a regenerated secret records its own first use at once. */
  readonly #lastUsedWrites = new Map<string, number>()
  #unsubscribe: (() => Promise<void>) | undefined
  /** Signed-out admin console tokens (in the KV store, so on every instance). */
  readonly revocations: Revocations
  /** Tokens used by API tokens that have a quota, added to their rows once a second. */
  readonly quotas: QuotaCounter

  constructor(
    private readonly em: () => EntityManager,
    private readonly tokens: AccessTokens,
    private readonly kv: KeyValueStore,
    private readonly log: Logger,
    private readonly guests: () => { allowed: boolean; group: string },
    /** Whether a plugin registered an auth strategy of its own (the widget's sessions). */
    private readonly otherStrategies: () => boolean = () => false,
    /** Asks for a guest pass when a challenge plugin guards guest chat; `undefined`: no challenge. */
    private readonly guestPasses?: { required(): boolean; valid(pass: string | undefined, ip: string): boolean },
  ) {
    this.revocations = new Revocations(kv)
    this.quotas = new QuotaCounter(em, log)
  }

  readonly strategy: AuthStrategy = { authenticate: request => this.authenticate(request) }

  async start(): Promise<void> {
    try {
      this.#unsubscribe = await this.kv.subscribe(INVALIDATE_CHANNEL, message => this.onInvalidate(message))
    } catch (error) {
      // Without the channel other instances keep a revoked entry for at most CACHE_TTL_MS.
      this.log.warn({ err: error }, 'cannot subscribe to identity invalidations; caches expire within 10 s instead')
    }
  }

  async stop(): Promise<void> {
    await this.#unsubscribe?.()
    await this.quotas.flush()
  }

  /** Drops a user's cached state here and on every other instance. */
  async forgetUser(userId: number): Promise<void> {
    this.#users.delete(userId)
    await this.kv.publish(INVALIDATE_CHANNEL, JSON.stringify({ user: userId })).catch(() => undefined)
  }

  /** Drops every cached user and group here and on every other instance (a group's limit or model list changed). */
  async forgetAllUsers(): Promise<void> {
    this.#users.clear()
    this.#groups.clear()
    await this.kv.publish(INVALIDATE_CHANNEL, JSON.stringify({ allUsers: true })).catch(() => undefined)
  }

  async forgetToken(tokenHash: string): Promise<void> {
    this.#tokens.delete(tokenHash)
    await this.kv.publish(INVALIDATE_CHANNEL, JSON.stringify({ token: tokenHash })).catch(() => undefined)
  }

  private onInvalidate(message: string): void {
    try {
      const { user, token, allUsers } = JSON.parse(message) as { user?: number; token?: string; allUsers?: boolean }
      if (allUsers === true) {
        this.#users.clear()
        this.#groups.clear()
      }
      if (typeof user === 'number') this.#users.delete(user)
      if (typeof token === 'string') this.#tokens.delete(token)
    } catch {
      // not ours
    }
  }

  /** At once for an API token whose token and user are cached (nearly every call); a promise otherwise. */
  private authenticate(request: FastifyRequest): MaybePromise<Principal | undefined> {
    const credential = credentialOf(request)
    if (credential === undefined) {
      const fromConsole = consoleCredential(request)
      if (fromConsole !== undefined) return this.fromConsole(fromConsole)
      const guests = this.guests()
      if (!guests.allowed) return undefined
      const ip = request.ip
      if (this.guestPasses?.required() === true) {
        const pass = request.headers[GUEST_PASS_HEADER]
        if (!this.guestPasses.valid(typeof pass === 'string' ? pass : undefined, ip))
          throw identityErrors.PARLEY_ERR_IDENTITY_GUEST_PASS_REQUIRED()
      }
      return andThen(this.group(guests.group), limits => guestPrincipal(ip, guests.group, limits))
    }
    if (credential.startsWith(API_TOKEN_PREFIX)) return this.fromApiToken(credential, request)
    if (!looksLikeJwt(credential)) {
      // Another plugin's prefixed token (the widget's `pws_…` sessions): when another auth
      // strategy is registered it decides (the caller is anonymous if none claims it).
      if (FOREIGN_TOKEN.test(credential) && this.otherStrategies()) return undefined
      throw identityErrors.PARLEY_ERR_IDENTITY_TOKEN_INVALID()
    }
    return this.fromJwt(credential, false)
  }

  /** The console cookie holds an admin token and nothing else. */
  private async fromConsole(token: string): Promise<Principal> {
    if (!looksLikeJwt(token)) throw identityErrors.PARLEY_ERR_IDENTITY_TOKEN_INVALID()
    return this.fromJwt(token, true)
  }

  private async fromJwt(token: string, adminOnly: boolean): Promise<Principal> {
    const claims = await this.tokens.verify(token)
    if (adminOnly && claims.scope !== 'admin') throw identityErrors.PARLEY_ERR_IDENTITY_TOKEN_INVALID()
    let user = await this.user(Number(claims.sub))
    if (user && claims.epoch > user.sessionEpoch) {
      // Signed after a password change this instance has not heard of yet: look again.
      this.#users.delete(user.id)
      user = await this.user(user.id)
    }
    if (!user || !user.active) throw identityErrors.PARLEY_ERR_IDENTITY_TOKEN_INVALID()
    // A password change raised the epoch: every token signed before it has ended.
    if (claims.epoch !== user.sessionEpoch) throw identityErrors.PARLEY_ERR_IDENTITY_TOKEN_INVALID()
    if (claims.scope === 'admin') {
      // The 24 h admin token is only as good as the role its holder has now, and ends at sign-out.
      if (user.role === 'user' || claims.jti === undefined) throw identityErrors.PARLEY_ERR_IDENTITY_TOKEN_INVALID()
      await this.revocations.assertLive(claims)
    }
    return {
      kind: 'user',
      userId: String(user.id),
      role: user.role,
      group: user.group,
      name: user.name,
      ...user.limits,
    }
  }

  private fromApiToken(token: string, request: FastifyRequest): MaybePromise<Principal> {
    const hash = this.hashOf(token)
    return andThen(this.token(hash), found =>
      andThen(found ? this.user(found.userId) : null, user => this.tokenPrincipal(found, user, hash, request)),
    )
  }

  /**
   * The token's SHA-256 after its checksum is checked: both are worked out once per token seen
   * lately, not on every call (two digests a call otherwise). A memo of a pure function, so a
   * revoked token is still refused: the lookup by hash decides.
   */
  private hashOf(token: string): string {
    let hash = this.#hashes.get(token)
    if (hash === undefined) {
      if (!isWellFormedApiToken(token)) throw identityErrors.PARLEY_ERR_IDENTITY_API_TOKEN_INVALID()
      hash = sha256(token)
      if (this.#hashes.size >= CACHE_MAX) this.#hashes.clear()
      this.#hashes.set(token, hash)
    }
    return hash
  }

  private tokenPrincipal(
    found: CachedToken | null,
    user: CachedUser | null,
    hash: string,
    request: FastifyRequest,
  ): Principal {
    if (!found || !user || !user.active) throw identityErrors.PARLEY_ERR_IDENTITY_API_TOKEN_INVALID()
    const limits = found.limits
    // `request.ip` is read only for a restricted token: an unrestricted one costs nothing more.
    if (limits !== undefined) checkTokenLimits(limits, request.ip)
    this.touch(found.id, hash)
    const principal: Extract<Principal, { kind: 'api_token' }> = {
      kind: 'api_token',
      tokenId: String(found.id),
      userId: String(user.id),
      role: user.role,
      group: user.group,
      name: user.name,
      portal: found.portal,
      ...user.limits,
    }
    return limits === undefined ? principal : { ...principal, ...limits.principal }
  }

  private user(id: number): MaybePromise<CachedUser | null> {
    if (!Number.isSafeInteger(id) || id <= 0) return null
    return this.#users.get(id, async () => {
      const em = this.em()
      const row = await em.findOne(User, { id })
      if (!row) return null
      const group = await em.findOne(Group, { name: row.groupName })
      return {
        id: row.id,
        role: row.role as Role,
        group: row.groupName,
        name: row.username,
        active: row.status === 'active',
        sessionEpoch: row.sessionEpoch,
        limits: this.limitsOf(group),
      }
    })
  }

  /** A group's limits as guests get them; a group that does not exist sets none. */
  private group(name: string): MaybePromise<GroupLimits> {
    return this.#groups.get(name, async () => this.limitsOf(await this.em().findOne(Group, { name })))
  }

  private limitsOf(group: { name: string; rpm?: number | null; models?: string | null } | null): GroupLimits {
    if (!group) return NO_GROUP_LIMITS
    const rpm = group.rpm ?? null
    const models = group.models == null ? null : this.modelList(group.name, group.models)
    if (rpm === null && models === null) return NO_GROUP_LIMITS
    return Object.freeze({
      ...(rpm === null ? {} : { groupRpm: rpm }),
      ...(models === null ? {} : { groupModels: models }),
    })
  }

  /**
   * The stored JSON list (written by the admin API). A value that is not a list of names fails
   * closed: no model, and an error in the log, rather than every model.
   */
  private modelList(group: string, stored: string): readonly string[] {
    try {
      const parsed: unknown = JSON.parse(stored)
      if (Array.isArray(parsed) && parsed.every(name => typeof name === 'string'))
        return Object.freeze(parsed as string[])
    } catch {
      // reported below
    }
    this.log.error(
      { group },
      'the model list of this group is not a JSON list of names; its members may use no model until it is saved again',
    )
    return Object.freeze([])
  }

  private token(hash: string): MaybePromise<CachedToken | null> {
    return this.#tokens.get(hash, async () => {
      const row = await this.em().findOne(ApiToken, { tokenHash: hash })
      return row
        ? {
            id: row.id,
            userId: row.userId,
            portal: row.name === CHAT_TOKEN_NAME,
            limits: tokenLimitsOf(row, this.quotas, this.log),
          }
        : null
    })
  }

  private touch(tokenId: number, hash: string): void {
    const now = Date.now()
    if ((this.#lastUsedWrites.get(hash) ?? 0) > now - LAST_USED_EVERY_MS) return
    this.#lastUsedWrites.set(hash, now)
    if (this.#lastUsedWrites.size > CACHE_MAX) this.#lastUsedWrites.clear()
    this.em()
      .nativeUpdate(ApiToken, { id: tokenId }, { lastUsedAt: new Date(now) })
      .catch(error => this.log.warn({ err: error }, 'could not record API token use'))
  }
}

/** `Authorization: Bearer <x>` or `x-api-key: <x>`; undefined when the request carries neither. */
/** A prefixed token (`abc_…`) of some other plugin's auth strategy; identity's own is `prl_`. */
const FOREIGN_TOKEN = /^[a-z]{2,8}_[A-Za-z0-9_-]{16,}$/

function credentialOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (typeof header === 'string' && header.length > 0) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
    if (!match) throw identityErrors.PARLEY_ERR_IDENTITY_TOKEN_INVALID()
    return match[1]
  }
  const apiKey = request.headers['x-api-key']
  return typeof apiKey === 'string' && apiKey.length > 0 ? apiKey.trim() : undefined
}

function guestPrincipal(ip: string, group: string, limits: GroupLimits): Principal {
  return limits.groupModels === undefined
    ? { kind: 'guest', ip, group }
    : { kind: 'guest', ip, group, groupModels: limits.groupModels }
}
