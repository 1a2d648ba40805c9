import type { Principal } from '@parley/core'

/** Whose limit a caller uses up; also picks the wording of the refusal. */
export type CallerKind = 'guest' | 'user' | 'token' | 'widget'

export interface CallerLimit {
  readonly kind: CallerKind
  /** The counter: `guest:<address>`, `user:<id>`, `token:<id>` or `widget:<client>:<external id>`. */
  readonly key: string
  /** Requests per minute; 0 is unlimited. */
  readonly rpm: number
}

/** The live settings a caller's limit comes from (read on every call, so changes apply at once). */
export interface CallerRates {
  guest(): number
  user(): number
  widget(): number
}

/**
 * Guests per address, users per user (their group's RPM wins over `user_rpm`), API tokens per
 * token at their user's RPM (or the token's own, when lower), widget users per external id of
 * their widget client. The portal's own token is the user chatting in the portal, so it counts
 * as the user, not as a token.
 */
export function callerLimit(principal: Principal, rates: CallerRates): CallerLimit {
  switch (principal.kind) {
    case 'guest':
      return { kind: 'guest', key: `guest:${addressKey(principal.ip)}`, rpm: rates.guest() }
    case 'user':
      return { kind: 'user', key: `user:${principal.userId}`, rpm: principal.groupRpm ?? rates.user() }
    case 'api_token':
      return principal.portal
        ? { kind: 'user', key: `user:${principal.userId}`, rpm: principal.groupRpm ?? rates.user() }
        : {
            kind: 'token',
            key: `token:${principal.tokenId}`,
            rpm: tokenRpm(principal.tokenRpm, principal.groupRpm ?? rates.user()),
          }
    case 'widget_user':
      return {
        kind: 'widget',
        key: `widget:${encodeURIComponent(principal.clientId)}:${encodeURIComponent(principal.externalId)}`,
        rpm: rates.widget(),
      }
  }
}

/** A token's own RPM binds only below its user's (0 is unlimited on either side). */
function tokenRpm(own: number | undefined, user: number): number {
  if (own === undefined || own === 0) return user
  return user === 0 ? own : Math.min(own, user)
}

/**
 * The counter key of a guest address. An IPv4-mapped IPv6 address is its IPv4 address (one
 * client, one counter whichever way the socket reports it). An IPv6 address counts by its /64:
 * a subscriber usually holds a whole /64 and could otherwise step through its addresses.
 */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip)
  if (mapped?.[1]) return mapped[1]
  if (!ip.includes(':')) return ip
  const groups = ipv6Groups(ip)
  return groups ? `${groups.slice(0, 4).join(':')}::/64` : ip
}

/** The eight groups of an IPv6 address, without leading zeros; undefined when it is not one. */
function ipv6Groups(ip: string): string[] | undefined {
  const address = ip.split('%')[0] ?? ''
  const halves = address.split('::')
  if (halves.length > 2) return undefined
  const split = (part: string | undefined) => (part ? part.split(':') : [])
  const left = split(halves[0])
  const right = split(halves[1])
  // A trailing dotted IPv4 part (64:ff9b::192.0.2.1) fills the last two groups.
  const last = right.length > 0 ? right : left
  const dotted = last.at(-1)
  if (dotted?.includes('.')) {
    const octets = dotted.split('.').map(Number)
    if (octets.length !== 4 || octets.some(octet => !Number.isInteger(octet) || octet < 0 || octet > 255))
      return undefined
    const [a = 0, b = 0, c = 0, d = 0] = octets
    last.splice(-1, 1, ((a << 8) | b).toString(16), ((c << 8) | d).toString(16))
  }
  const missing = 8 - left.length - right.length
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined
  const groups = [...left, ...Array<string>(halves.length === 1 ? 0 : missing).fill('0'), ...right]
  if (!groups.every(group => /^[0-9a-f]{1,4}$/i.test(group))) return undefined
  return groups.map(group => parseInt(group, 16).toString(16))
}
