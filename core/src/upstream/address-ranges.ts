import { isIP } from 'node:net'
import ipaddr from 'ipaddr.js'

/**
 * Which addresses an upstream may live at. Everything on the gateway's own host, its network
 * plumbing and the cloud metadata services is refused; `allowPrivate` opens the LAN only and
 * `allowLoopback` the gateway's own loopback only.
 */
export interface AddressPolicy {
  /**
   * The `allow_private_upstreams` setting: admits RFC 1918 (10/8, 172.16/12, 192.168/16),
   * unique-local IPv6 (fc00::/7) and carrier-grade NAT (100.64/10), where LAN model servers live.
   * Metadata endpoints inside those ranges stay refused.
   */
  readonly allowPrivate: boolean
  /**
   * The operator's `upstream.allow_loopback` config key (`UPSTREAM_ALLOW_LOOPBACK`), never a
   * runtime setting: admits loopback (127/8, ::1, IPv4-mapped ::ffff:127.x and `localhost`) for
   * a model server on the gateway's own host. Other IPv6 forms that lead to 127.x (NAT64,
   * IPv4-translated, 6to4, Teredo, IPv4-compatible) reach some other machine's loopback, so they
   * stay refused, as do metadata, unspecified and link-local addresses.
   */
  readonly allowLoopback?: boolean
}

type Range = readonly [network: ipaddr.IPv4 | ipaddr.IPv6, bits: number, reason: string]

const rules = (entries: ReadonlyArray<readonly [string, string]>): readonly Range[] =>
  entries.map(([cidr, reason]) => [...ipaddr.parseCIDR(cidr), reason] as const)

// First match wins: the metadata endpoints come before the wider ranges that hold them, so that
// allowPrivate (which opens CGNAT and unique-local) can never open them.
const IPV4: readonly Range[] = rules([
  ['169.254.169.254/32', 'metadata'], // AWS, GCP, Azure, OCI, DigitalOcean, OpenStack
  ['169.254.170.2/32', 'metadata'], // AWS ECS task credentials
  ['169.254.0.23/32', 'metadata'], // Tencent Cloud
  ['100.100.100.200/32', 'metadata'], // Alibaba Cloud, inside CGNAT space
  ['192.0.0.192/32', 'metadata'], // Oracle Cloud Classic
  ['168.63.129.16/32', 'metadata'], // Azure WireServer: public-looking, host-internal
  ['0.0.0.0/8', 'unspecified'], // connecting to 0.0.0.0 reaches the local host on Linux
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'carrier-grade NAT'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'reserved'], // IETF protocol assignments
  ['192.0.2.0/24', 'reserved'], // documentation
  ['192.88.99.0/24', 'reserved'], // 6to4 relay anycast
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'reserved'], // benchmarking
  ['198.51.100.0/24', 'reserved'], // documentation
  ['203.0.113.0/24', 'reserved'], // documentation
  ['224.0.0.0/4', 'multicast'],
  ['255.255.255.255/32', 'broadcast'],
  ['240.0.0.0/4', 'reserved'],
])

// IPv6 is an allow-list: only global unicast (2000::/3) outside these ranges is admitted.
const IPV6: readonly Range[] = rules([
  ['fd00:ec2::/32', 'metadata'], // AWS instance services (IMDS ::254, DNS ::253)
  ['fd20:ce::254/128', 'metadata'], // GCP metadata server
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'site-local'],
  ['fc00::/7', 'unique-local'],
  ['ff00::/8', 'multicast'],
  ['2001::/23', 'reserved'], // IETF protocol assignments, Teredo included
  ['2001:db8::/32', 'reserved'], // documentation
  ['3fff::/20', 'reserved'], // documentation
])
const GLOBAL_UNICAST = ipaddr.parseCIDR('2000::/3')

const ADMITTED_BY_PRIVATE = new Set(['private', 'unique-local', 'carrier-grade NAT'])

/**
 * Why an upstream must not be reached at `ip`, or undefined when it may.
 *
 * IPv6 forms that carry an IPv4 address (mapped, translated, compatible, NAT64, 6to4, Teredo)
 * are judged by the IPv4 address they lead to, so `::ffff:127.0.0.1` is 'IPv4-mapped loopback'.
 *
 * @example
 * forbiddenReason('10.0.0.5', { allowPrivate: false }) // 'private'
 * forbiddenReason('10.0.0.5', { allowPrivate: true }) // undefined
 * forbiddenReason('169.254.169.254', { allowPrivate: true }) // 'metadata'
 * forbiddenReason('127.0.0.1', { allowPrivate: false, allowLoopback: true }) // undefined
 */
export function forbiddenReason(ip: string, policy: AddressPolicy): string | undefined {
  const text = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip
  // net.isIP accepts only canonical forms, so no lenient "0x7f.1"-style parse decides here.
  if (isIP(text) === 0) return 'invalid'
  return isIP(text) === 4 ? ipv4Reason(ipaddr.IPv4.parse(text), policy) : ipv6Reason(parseIPv6(text), policy)
}

function parseIPv6(text: string): ipaddr.IPv6 {
  const bare = text.split('%')[0] ?? text
  // ipaddr.js reads "::a.b.c.d" as IPv4-mapped (it is IPv4-compatible); the WHATWG parser
  // rewrites a dotted tail as hex words first, which ipaddr.js then reads correctly.
  return ipaddr.IPv6.parse(new URL(`http://[${bare}]/`).hostname.slice(1, -1))
}

function ipv4Reason(address: ipaddr.IPv4, policy: AddressPolicy): string | undefined {
  const reason = IPV4.find(([network, bits]) => address.match(network, bits))?.[2]
  return reason === undefined || admitted(reason, policy) ? undefined : reason
}

function ipv6Reason(address: ipaddr.IPv6, policy: AddressPolicy): string | undefined {
  const rule = IPV6.find(([network, bits]) => address.match(network, bits))
  // The exact ::/128 and ::1 rules must win over the IPv4-compatible reading of ::/96.
  if (rule && (rule[2] === 'unspecified' || rule[2] === 'loopback' || rule[2] === 'metadata')) {
    return admitted(rule[2], policy) ? undefined : rule[2]
  }
  const embedded = embeddedIPv4(address)
  if (embedded) {
    // Only the mapped form is this host's own IPv4 loopback; allowLoopback opens no other.
    const inner = ipv4Reason(
      embedded.ipv4,
      embedded.via === 'IPv4-mapped' ? policy : { ...policy, allowLoopback: false },
    )
    if (inner !== undefined) return `${embedded.via} ${inner}`
    // Mapped, translated and NAT64 addresses lead exactly to their IPv4 address.
    if (embedded.final) return undefined
  }
  if (rule) return admitted(rule[2], policy) ? undefined : rule[2]
  return address.match(GLOBAL_UNICAST) ? undefined : 'reserved'
}

interface Embedded {
  readonly via: string
  readonly ipv4: ipaddr.IPv4
  /** The IPv4 address decides alone; otherwise the IPv6 ranges get a say too. */
  readonly final: boolean
}

function embeddedIPv4(address: ipaddr.IPv6): Embedded | undefined {
  const p = address.parts
  const word = (i: number): number => p[i] ?? 0
  const zero = (from: number, to: number): boolean => p.slice(from, to).every(part => part === 0)
  const v4 = (hi: number, lo: number): ipaddr.IPv4 => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff])
  if (zero(0, 5) && word(5) === 0xffff) return { via: 'IPv4-mapped', ipv4: v4(word(6), word(7)), final: true }
  if (zero(0, 4) && word(4) === 0xffff && word(5) === 0) {
    return { via: 'IPv4-translated', ipv4: v4(word(6), word(7)), final: true }
  }
  if (word(0) === 0x64 && word(1) === 0xff9b && zero(2, 6))
    return { via: 'NAT64', ipv4: v4(word(6), word(7)), final: true }
  if (zero(0, 6)) return { via: 'IPv4-compatible', ipv4: v4(word(6), word(7)), final: false }
  if (word(0) === 0x2002) return { via: '6to4', ipv4: v4(word(1), word(2)), final: false }
  // Teredo carries the client's IPv4 address inverted in the last 32 bits.
  if (word(0) === 0x2001 && word(1) === 0) {
    return { via: 'Teredo', ipv4: v4(~word(6) & 0xffff, ~word(7) & 0xffff), final: false }
  }
  return undefined
}

function admitted(reason: string, policy: AddressPolicy): boolean {
  if (policy.allowPrivate && ADMITTED_BY_PRIVATE.has(reason)) return true
  return policy.allowLoopback === true && reason === 'loopback'
}
