import ipaddr from 'ipaddr.js'
import { widgetErrors } from './errors.js'

/** An allowed address or range, parsed once. */
export type AddressRange = readonly [ipaddr.IPv4 | ipaddr.IPv6, number]

/** `203.0.113.7` or `203.0.113.0/24` (IPv4 or IPv6) as a range; a bad entry is a 400 naming it. */
export function parseRange(value: string): AddressRange {
  try {
    if (value.includes('/')) return ipaddr.parseCIDR(value)
    const address = ipaddr.parse(value)
    return [address, address.kind() === 'ipv4' ? 32 : 128]
  } catch {
    throw widgetErrors.PARLEY_ERR_WIDGET_ADDRESS_INVALID({ value })
  }
}

/** The canonical text of an entry (`2001:db8::/32`), so equal ranges are stored alike. */
export function normalizeRange(value: string): string {
  const [address, bits] = parseRange(value.trim())
  const full = address.kind() === 'ipv4' ? 32 : 128
  return bits === full && !value.includes('/') ? address.toString() : `${address.toString()}/${bits}`
}

/** Whether `ip` (the request's real client address) is in one of the ranges; IPv4-mapped IPv6 counts as IPv4. */
export function addressAllowed(ip: string, ranges: readonly AddressRange[]): boolean {
  let address: ipaddr.IPv4 | ipaddr.IPv6
  try {
    address = ipaddr.process(ip)
  } catch {
    return false
  }
  for (const [base, bits] of ranges) {
    if (address.kind() === base.kind() && address.match([base, bits] as never)) return true
  }
  return false
}

/** `https://shop.example` (scheme, host, port; nothing else) or a 400 naming the value. */
export function normalizeOrigin(value: string): string {
  let url: URL
  try {
    url = new URL(value.trim())
  } catch {
    throw widgetErrors.PARLEY_ERR_WIDGET_ORIGIN_INVALID({ value })
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.origin !== value.trim().replace(/\/$/, ''))
    throw widgetErrors.PARLEY_ERR_WIDGET_ORIGIN_INVALID({ value })
  return url.origin
}
