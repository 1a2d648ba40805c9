import { BlockList, isIP } from 'node:net'
import type { EntityManager, Logger, UsageMeter } from '@parley/core'
import { identityErrors } from './errors.js'

/** How often the tokens counted against quotas are added to their rows. */
const FLUSH_EVERY_MS = 1_000

/** The restriction columns of an API token row. */
export interface TokenLimitColumns {
  readonly id: number
  readonly enabled: boolean
  readonly expiresAt?: Date | null
  readonly models?: string | null
  readonly allowedIps?: string | null
  readonly rpm?: number | null
  readonly quota?: number | null
  readonly usedTokens: number
}

/**
 * What the principal of a restricted token carries for the data plane: its model list, its
 * RPM and its quota meter. One frozen object per cache load, spread into each call's principal.
 */
export interface TokenPrincipalFields {
  readonly tokenModels?: readonly string[]
  readonly tokenRpm?: number
  readonly meter?: UsageMeter
}

/**
 * A token's restrictions as each call checks them: made once when the token is loaded into the
 * cache, and only for a token that has any (an unrestricted token has none, and its calls pay
 * nothing for this feature). Every check is synchronous.
 */
export interface TokenLimits {
  readonly disabled: boolean
  /** Epoch ms; undefined: never. */
  readonly expiresAt?: number
  readonly ips?: BlockList
  readonly quota?: QuotaMeter
  readonly principal: TokenPrincipalFields
}

/** A token's quota: its used tokens as last read, plus what this instance counted since. */
export class QuotaMeter implements UsageMeter {
  constructor(
    readonly tokenId: number,
    readonly quota: number,
    public used: number,
    private readonly counter: QuotaCounter,
  ) {}

  add(tokens: number): void {
    if (!(tokens > 0)) return
    this.used += tokens
    this.counter.add(this.tokenId, tokens)
  }
}

/** Refuses the call (403 with its cause) when the token may not be used now, from `ip`. */
export function checkTokenLimits(limits: TokenLimits, ip: string): void {
  if (limits.disabled) throw identityErrors.PARLEY_ERR_IDENTITY_API_TOKEN_DISABLED()
  if (limits.expiresAt !== undefined && Date.now() >= limits.expiresAt)
    throw identityErrors.PARLEY_ERR_IDENTITY_API_TOKEN_EXPIRED({ date: new Date(limits.expiresAt).toISOString() })
  if (limits.ips !== undefined && !limits.ips.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4'))
    throw identityErrors.PARLEY_ERR_IDENTITY_API_TOKEN_IP({ ip })
  const quota = limits.quota
  if (quota !== undefined && quota.used >= quota.quota)
    throw identityErrors.PARLEY_ERR_IDENTITY_API_TOKEN_QUOTA({ quota: quota.quota })
}

/** The limits of a loaded row; undefined for a token without any (most of them). */
export function tokenLimitsOf(row: TokenLimitColumns, counter: QuotaCounter, log: Logger): TokenLimits | undefined {
  const { enabled, expiresAt, models, allowedIps, rpm, quota } = row
  if (enabled && expiresAt == null && models == null && allowedIps == null && rpm == null && quota == null)
    return undefined
  const tokenModels = models == null ? undefined : storedList(models, row.id, 'models', log)
  const meter =
    quota == null ? undefined : new QuotaMeter(row.id, quota, row.usedTokens + counter.pending(row.id), counter)
  const principal: TokenPrincipalFields = Object.freeze({
    ...(tokenModels === undefined ? {} : { tokenModels }),
    ...(rpm == null ? {} : { tokenRpm: rpm }),
    ...(meter === undefined ? {} : { meter }),
  })
  return Object.freeze({
    disabled: !enabled,
    ...(expiresAt == null ? {} : { expiresAt: expiresAt.getTime() }),
    ...(allowedIps == null ? {} : { ips: blockListOf(storedList(allowedIps, row.id, 'allowed_ips', log)) }),
    ...(meter === undefined ? {} : { quota: meter }),
    principal,
  })
}

/**
 * The addresses and ranges as stored: trimmed, each checked. `203.0.113.7`, `203.0.113.0/24`,
 * `2001:db8::/32`. A range's host bits are kept as typed (the range still means its network).
 */
export function normaliseAllowedIps(entries: readonly string[]): string[] {
  return entries.map(entry => {
    const text = entry.trim()
    if (parseRange(text) === undefined) throw identityErrors.PARLEY_ERR_IDENTITY_TOKEN_IP_INVALID({ value: text })
    return text
  })
}

/** Model names as stored: trimmed, without empties and duplicates. */
export function normaliseModels(names: readonly string[]): string[] {
  return [...new Set(names.map(name => name.trim()).filter(name => name.length > 0))]
}

/** The list a refused or unreadable value leaves: none, so a damaged row opens nothing. */
function storedList(stored: string, tokenId: number, column: string, log: Logger): readonly string[] {
  try {
    const parsed: unknown = JSON.parse(stored)
    if (Array.isArray(parsed) && parsed.every(item => typeof item === 'string')) return Object.freeze(parsed)
  } catch {
    // reported below
  }
  log.error({ token_id: tokenId, column }, 'an API token restriction is not a JSON list; the token allows none of it')
  return Object.freeze([])
}

function blockListOf(entries: readonly string[]): BlockList {
  const list = new BlockList()
  for (const entry of entries) {
    const range = parseRange(entry)
    if (range === undefined) continue
    if (range.prefix === undefined) list.addAddress(range.address, range.family)
    else list.addSubnet(range.address, range.prefix, range.family)
  }
  return list
}

function parseRange(
  text: string,
): { address: string; family: 'ipv4' | 'ipv6'; prefix: number | undefined } | undefined {
  const [address = '', bits, extra] = text.split('/')
  const version = isIP(address)
  if (version === 0 || extra !== undefined) return undefined
  const family = version === 4 ? 'ipv4' : 'ipv6'
  if (bits === undefined) return { address, family, prefix: undefined }
  if (!/^\d{1,3}$/.test(bits)) return undefined
  const prefix = Number(bits)
  if (prefix > (version === 4 ? 32 : 128)) return undefined
  return { address, family, prefix }
}

/**
 * The tokens counted against quotas, added to their rows once a second (one update per token
 * with a quota that was used, not one per call). Each instance counts its own calls; the rows
 * add every instance's, and a token's cache entry reads them again within 10 s.
 */
export class QuotaCounter {
  readonly #pending = new Map<number, number>()
  #timer: NodeJS.Timeout | undefined
  #flushing: Promise<void> | undefined

  constructor(
    private readonly em: () => EntityManager,
    private readonly log: Logger,
  ) {}

  add(tokenId: number, tokens: number): void {
    this.#pending.set(tokenId, (this.#pending.get(tokenId) ?? 0) + tokens)
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.flushSoon(), FLUSH_EVERY_MS)
      this.#timer.unref()
    }
  }

  /** Counted here and not yet in the row. */
  pending(tokenId: number): number {
    return this.#pending.get(tokenId) ?? 0
  }

  async flush(): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#flushing
    if (this.#pending.size === 0) return
    this.#flushing = this.#write().finally(() => (this.#flushing = undefined))
    await this.#flushing
  }

  /** A timer's flush: its failure is logged, never an unhandled rejection. */
  private flushSoon(): void {
    this.flush().catch((error: unknown) => this.log.warn({ err: error }, 'could not add used tokens to API tokens'))
  }

  async #write(): Promise<void> {
    for (const [tokenId, tokens] of [...this.#pending]) {
      try {
        await this.em()
          .getConnection()
          .execute('update `identity_api_tokens` set `used_tokens` = `used_tokens` + ? where `id` = ?', [
            tokens,
            tokenId,
          ])
        const left = (this.#pending.get(tokenId) ?? 0) - tokens
        if (left > 0) this.#pending.set(tokenId, left)
        else this.#pending.delete(tokenId)
      } catch (error) {
        // Kept for the next flush; the quota is still counted in this instance meanwhile.
        this.log.warn({ err: error, token_id: tokenId }, 'could not add used tokens to an API token')
        if (this.#timer === undefined) {
          this.#timer = setTimeout(() => this.flushSoon(), FLUSH_EVERY_MS * 5)
          this.#timer.unref()
        }
      }
    }
  }
}
