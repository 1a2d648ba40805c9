import { lookup as dnsLookup } from 'node:dns/promises'
import type { LookupAddress, LookupOptions } from 'node:dns'
import { isIP, type LookupFunction } from 'node:net'
import { Agent, buildConnector } from 'undici'
import { errors } from '../errors.js'
import { forbiddenReason, type AddressPolicy } from './address-ranges.js'

export { forbiddenReason, type AddressPolicy } from './address-ranges.js'

/** Resolves a host name to every address it has (A and AAAA). */
export type HostLookup = (host: string) => Promise<string[]>

export interface UpstreamAgentOptions {
  readonly connectTimeoutMs?: number
  /** How long an idle keep-alive connection is kept when the upstream does not say. */
  readonly keepAliveTimeoutMs?: number
  /** Connections per upstream origin; unlimited when absent. */
  readonly connections?: number
  /** The resolver; the system's (`dns.lookup`, so /etc/hosts counts) when absent. */
  readonly lookup?: HostLookup
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000
const PRIVATE_HINT = '; LAN addresses need the allow_private_upstreams setting'
const LOOPBACK_HINT =
  "; a model server on the gateway's own host needs the operator's upstream.allow_loopback config key (UPSTREAM_ALLOW_LOOPBACK=1)"

export const systemLookup: HostLookup = async host => (await dnsLookup(host, { all: true })).map(entry => entry.address)

/**
 * Parses and checks a channel's base URL when it is saved: http or https, no credentials, query
 * or fragment, and a host whose every address passes `forbiddenReason`. The WHATWG parser has
 * already turned decimal, hex, octal and short IPv4 forms (2130706433, 0x7f.1, 0177.0.0.1,
 * 127.1) into dotted quads. Passing here is not enough on its own: DNS may answer differently
 * later, so connections go through `createUpstreamAgent`, which checks again.
 *
 * @example
 * const url = await checkBaseUrl('https://api.openai.com/v1', { allowPrivate: false })
 * url.toString() // 'https://api.openai.com/v1'
 */
export async function checkBaseUrl(
  raw: string,
  policy: AddressPolicy,
  lookup: HostLookup = systemLookup,
): Promise<URL> {
  const url = parseBaseUrl(raw)
  let verdict: Verdict
  try {
    verdict = await checkHost(url.hostname, policy, lookup)
  } catch {
    throw errors.PARLEY_ERR_UPSTREAM_URL_INVALID({ reason: `host ${url.hostname} does not resolve` })
  }
  if (verdict.ok) return url
  const lanOnly =
    !policy.allowPrivate && forbiddenReason(verdict.address, { ...policy, allowPrivate: true }) === undefined
  const loopbackOnly =
    policy.allowLoopback !== true && forbiddenReason(verdict.address, { ...policy, allowLoopback: true }) === undefined
  const hint = lanOnly ? PRIVATE_HINT : loopbackOnly ? LOOPBACK_HINT : ''
  throw errors.PARLEY_ERR_UPSTREAM_ADDRESS_FORBIDDEN({ host: url.hostname, reason: verdict.reason, hint })
}

/**
 * The dispatcher every upstream request goes through: keep-alive pools whose connections reach
 * only addresses that passed `forbiddenReason` at connect time. The resolver's answer is checked
 * and handed to the socket in one step, so DNS rebinding between the check and the connect is
 * impossible; IP-literal hosts (which skip the resolver) are checked before connecting. It has
 * no redirect interceptor: `request()` returns a 3xx as it is. `fetch()` follows redirects by
 * default, but each hop still connects through this agent; pass `redirect: 'manual'`.
 * A refused connection fails the request with PARLEY_ERR_UPSTREAM_CONNECT_FORBIDDEN.
 *
 * @example
 * const agent = createUpstreamAgent({ allowPrivate: settings.get('allow_private_upstreams'), allowLoopback: config.upstream.allow_loopback })
 * const { statusCode, body } = await request(`${baseUrl}/chat/completions`, { dispatcher: agent, method: 'POST' })
 */
export function createUpstreamAgent(policy: AddressPolicy, options: UpstreamAgentOptions = {}): Agent {
  const resolve = options.lookup ?? systemLookup
  const pinned: LookupFunction = (hostname, lookupOptions, callback) => {
    checkHost(hostname, policy, resolve).then(
      verdict => {
        if (!verdict.ok) {
          callback(errors.PARLEY_ERR_UPSTREAM_CONNECT_FORBIDDEN({ host: hostname, reason: verdict.reason }), [])
          return
        }
        answer(verdict.addresses, lookupOptions, hostname, callback)
      },
      (error: NodeJS.ErrnoException) => callback(error, []),
    )
  }
  const connector = buildConnector({ timeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, lookup: pinned })
  const connect: buildConnector.connector = (target, callback) => {
    // net.connect skips `lookup` for IP literals, so those are checked here.
    const reason = isIP(target.hostname) === 0 ? undefined : forbiddenReason(target.hostname, policy)
    if (reason !== undefined) {
      callback(errors.PARLEY_ERR_UPSTREAM_CONNECT_FORBIDDEN({ host: target.hostname, reason }), null)
      return
    }
    connector(target, callback)
  }
  return new Agent({
    connect,
    ...(options.connections === undefined ? {} : { connections: options.connections }),
    ...(options.keepAliveTimeoutMs === undefined ? {} : { keepAliveTimeout: options.keepAliveTimeoutMs }),
  })
}

type Verdict =
  | { readonly ok: true; readonly addresses: readonly string[] }
  | { readonly ok: false; readonly reason: string; readonly address: string }

/** Resolves a URL host (unless it is an IP literal) and refuses it if ANY address is forbidden. */
async function checkHost(hostname: string, policy: AddressPolicy, lookup: HostLookup): Promise<Verdict> {
  const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname
  if (isIP(host) !== 0) return verdictFor([host], policy)
  // RFC 6761: localhost and its subdomains are loopback whatever a resolver says.
  const name = host.toLowerCase().replace(/\.$/, '')
  if (!policy.allowLoopback && (name === 'localhost' || name.endsWith('.localhost'))) {
    return { ok: false, reason: 'loopback', address: '127.0.0.1' }
  }
  const addresses = await lookup(host)
  if (addresses.length === 0) throw Object.assign(new Error(`${host} has no address`), { code: 'ENOTFOUND' })
  return verdictFor(addresses, policy)
}

function verdictFor(addresses: readonly string[], policy: AddressPolicy): Verdict {
  for (const address of addresses) {
    const reason = forbiddenReason(address, policy)
    if (reason !== undefined) return { ok: false, reason, address }
  }
  return { ok: true, addresses }
}

/** Answers net's lookup in the shape it asked for: every address, or the first of a family. */
function answer(
  addresses: readonly string[],
  lookupOptions: LookupOptions,
  hostname: string,
  callback: Parameters<LookupFunction>[2],
): void {
  const wanted = lookupOptions.family === 'IPv4' ? 4 : lookupOptions.family === 'IPv6' ? 6 : (lookupOptions.family ?? 0)
  const entries: LookupAddress[] = addresses
    .map(address => ({ address, family: isIP(address) }))
    .filter(entry => wanted === 0 || entry.family === wanted)
  const first = entries[0]
  if (first === undefined) {
    callback(Object.assign(new Error(`${hostname} has no IPv${wanted} address`), { code: 'ENOTFOUND' }), [])
  } else if (lookupOptions.all === true) {
    callback(null, entries)
  } else {
    callback(null, first.address, first.family)
  }
}

function parseBaseUrl(raw: string): URL {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw errors.PARLEY_ERR_UPSTREAM_URL_INVALID({ reason: 'it is not an absolute URL' })
  }
  // The messages never echo the raw URL or its scheme: a pasted key could sit in either.
  const problem =
    url.protocol !== 'http:' && url.protocol !== 'https:'
      ? 'only http and https URLs are allowed'
      : url.username !== '' || url.password !== ''
        ? 'credentials in the URL are not allowed; give the key to the channel'
        : url.hostname === ''
          ? 'the host is missing'
          : url.port === '0'
            ? 'port 0 cannot be connected to'
            : url.search !== '' || url.hash !== ''
              ? 'a query or fragment is not allowed'
              : undefined
  if (problem !== undefined) throw errors.PARLEY_ERR_UPSTREAM_URL_INVALID({ reason: problem })
  // A lone "?" or "#" leaves empty search and hash but stays in href.
  url.search = ''
  url.hash = ''
  return url
}
