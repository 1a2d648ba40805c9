import type { EntityManager, InferEntity, RequiredEntityData } from '@mikro-orm/core'
import type { FastifyInstance } from 'fastify'
import ipaddr from 'ipaddr.js'
import type { Registry as MetricsRegistry } from 'prom-client'
import { BatchWriter, fit } from '../db/batch-writer.js'
import { errors } from '../errors.js'
import { pathOf } from '../http/context.js'
import type { KeyValueStore } from '../kv/port.js'
import type { Logger } from '../logger.js'
import { BlockedAttempt, BlockedIp } from './entities.js'

/** KV channel on which a change of the list is announced to every instance. */
export const BLOCKLIST_CHANGED = 'blocklist:changed'
const FULL_RELOAD_MS = 60_000

type Parsed = ipaddr.IPv4 | ipaddr.IPv6

/**
 * Turns what an admin typed into a canonical CIDR: `203.0.113.7` → `203.0.113.7/32`,
 * `203.0.113.7/24` → `203.0.113.0/24`, `2001:DB8::1` → `2001:db8::1/128`, and IPv4-mapped IPv6
 * (`::ffff:203.0.113.7`) → its IPv4 form, since clients reach us as either. Returns undefined
 * for anything else; refuses /0, which would block every client.
 */
export function canonicalRule(input: string): string | undefined {
  const text = input.trim()
  if (text.includes('%')) return undefined
  let address: Parsed
  let bits: number
  try {
    if (text.includes('/')) {
      ;[address, bits] = ipaddr.parseCIDR(text)
    } else {
      if (!ipaddr.isValid(text)) return undefined
      address = ipaddr.parse(text)
      bits = address.kind() === 'ipv4' ? 32 : 128
    }
  } catch {
    return undefined
  }
  // ipaddr accepts "1.2.3" and other classful shorthands; a rule must be written out.
  if (address.kind() === 'ipv4' && !/^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/.test(text)) return undefined
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
    address = (address as ipaddr.IPv6).toIPv4Address()
    bits -= 96
  }
  if (bits === 0) return undefined
  const network =
    address.kind() === 'ipv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/${bits}`)
      : ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${bits}`)
  return `${network.toString()}/${bits}`
}

interface V4Rule {
  readonly network: number
  readonly mask: number
  readonly rule: string
}

interface V6Rule {
  readonly range: ipaddr.IPv6
  readonly bits: number
  readonly rule: string
}

/** Rules compiled for matching: IPv4 as 32-bit masks, IPv6 through ipaddr. */
export class BlockMatcher {
  readonly size: number
  readonly #v4: V4Rule[] = []
  readonly #v6: V6Rule[] = []

  constructor(rules: readonly string[]) {
    for (const rule of rules) {
      try {
        const [address, bits] = ipaddr.parseCIDR(rule)
        if (address.kind() === 'ipv4') {
          const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0
          this.#v4.push({ network: (toUint32(address as ipaddr.IPv4) & mask) >>> 0, mask, rule })
        } else {
          this.#v6.push({ range: address as ipaddr.IPv6, bits, rule })
        }
      } catch {
        // A row that no longer parses blocks nothing; the admin API never stores one.
      }
    }
    this.size = this.#v4.length + this.#v6.length
  }

  /** The rule that refuses `ip`, if any. IPv4-mapped IPv6 clients are matched as IPv4. */
  match(ip: string): string | undefined {
    if (this.size === 0) return undefined
    let address: Parsed
    try {
      address = ipaddr.process(ip)
    } catch {
      return undefined
    }
    if (address.kind() === 'ipv4') {
      const value = toUint32(address as ipaddr.IPv4)
      for (const rule of this.#v4) if ((value & rule.mask) >>> 0 === rule.network) return rule.rule
      return undefined
    }
    for (const rule of this.#v6) if ((address as ipaddr.IPv6).match(rule.range, rule.bits)) return rule.rule
    return undefined
  }
}

function toUint32(address: ipaddr.IPv4): number {
  const [a, b, c, d] = address.octets as [number, number, number, number]
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0
}

type AttemptRow = RequiredEntityData<InferEntity<typeof BlockedAttempt>>

interface AttemptInput {
  readonly ip: string
  readonly method: string
  readonly path: string
  readonly rule: string
}

export interface BlocklistOptions {
  readonly em: () => EntityManager
  readonly kv: KeyValueStore
  readonly log: Logger
  readonly metrics?: MetricsRegistry
}

/**
 * The blocklist of every instance: rules in memory (no query per request), reloaded when any
 * instance announces a change and every minute as a safety net; refused attempts buffered
 * and written in batches, so a blocked client hammering the gateway cannot hammer the database.
 */
export class Blocklist {
  #matcher = new BlockMatcher([])
  #loading: Promise<void> | undefined
  #again = false
  #timer: NodeJS.Timeout | undefined
  #unsubscribe: (() => Promise<void>) | undefined
  readonly attempts: BatchWriter<AttemptInput, AttemptRow>

  constructor(private readonly options: BlocklistOptions) {
    this.attempts = new BatchWriter<AttemptInput, AttemptRow>({
      name: 'blocked_attempts',
      label: 'Refused blocked-IP attempt',
      toRow: input => ({
        createdAt: new Date(),
        ip: fit(input.ip, 45),
        method: fit(input.method, 10),
        path: fit(input.path, 255),
        rule: fit(input.rule, 64),
      }),
      em: options.em,
      insert: (em, rows) => em.insertMany<InferEntity<typeof BlockedAttempt>>(BlockedAttempt, rows),
      log: options.log,
      ...(options.metrics ? { metrics: options.metrics } : {}),
    })
  }

  get matcher(): BlockMatcher {
    return this.#matcher
  }

  async start(): Promise<void> {
    await this.reload()
    this.#timer = setInterval(() => void this.reload(), FULL_RELOAD_MS)
    this.#timer.unref()
    try {
      this.#unsubscribe = await this.options.kv.subscribe(BLOCKLIST_CHANGED, () => void this.reload())
    } catch (error) {
      this.options.log.warn({ err: error }, 'cannot subscribe to blocklist changes; it refreshes every minute instead')
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer)
    await this.#unsubscribe?.()
    await this.#loading
    await this.attempts.close()
  }

  /** Tells every instance (this one included) to reload the rules. */
  async changed(): Promise<void> {
    await this.options.kv
      .publish(BLOCKLIST_CHANGED, '1')
      .catch(error => this.options.log.warn({ err: error }, 'could not announce a blocklist change'))
    await this.reload()
  }

  reload(): Promise<void> {
    if (this.#loading) {
      this.#again = true
      return this.#loading
    }
    this.#loading = (async () => {
      do {
        this.#again = false
        try {
          const rows = await this.options.em().find(BlockedIp, {}, { fields: ['rule'] })
          this.#matcher = new BlockMatcher(rows.map(row => row.rule))
        } catch (error) {
          this.options.log.error({ err: error }, 'blocklist reload failed; keeping the previous rules')
        }
      } while (this.#again)
    })().finally(() => {
      this.#loading = undefined
    })
    return this.#loading
  }
}

/**
 * Route patterns the blocklist never applies to: the admin console and its API (an admin must
 * be able to undo a mistake from any address), the admin sign-in, and the probes an
 * orchestrator sends. `/metrics` and `/docs` are not exempt: they tell a blocked client nothing. Matched on the route Fastify chose, not on the raw URL, so encodings and
 * dot segments cannot pass for an exempt path.
 */
export function exemptFromBlocklist(route: string | undefined): boolean {
  if (route === undefined) return false
  return (
    route === '/admin' ||
    route.startsWith('/admin/') ||
    route.startsWith('/api/admin/') ||
    route === '/api/auth/admin/login' ||
    route === '/healthz' ||
    route === '/readyz'
  )
}

/** Refuses blocked clients on every route except the exempt ones, and records each refusal. */
export function installBlocklistGuard(app: FastifyInstance, blocklist: Blocklist): void {
  // A callback hook: it runs on every request and almost always has nothing to wait for.
  app.addHook('onRequest', (request, _reply, done) => {
    const matcher = blocklist.matcher
    if (matcher.size === 0) return done()
    const rule = matcher.match(request.ip)
    if (rule === undefined || exemptFromBlocklist(request.routeOptions.url)) return done()
    blocklist.attempts.record({ ip: request.ip, method: request.method, path: pathOf(request.url), rule })
    done(errors.PARLEY_ERR_BLOCKED_IP())
  })
}
