import { isIP } from 'node:net'

/**
 * The network a client address stands for when counting: an IPv4 address itself, the /64 of
 * an IPv6 address (one subscriber commonly holds a whole /64, so counting single IPv6
 * addresses would let one client rotate through 2^64 of them). IPv4-mapped IPv6 addresses
 * count as their IPv4 address.
 *
 * @example
 * networkOf('2001:db8:1:2:3:4:5:6') // '2001:db8:1:2::/64'
 */
export function networkOf(ip: string): string {
  const bare = ip.split('%')[0] ?? ip
  if (isIP(bare) !== 6) return bare
  const lower = bare.toLowerCase()
  const mapped = /^(?:0{0,4}:){0,5}:?ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(lower)
  if (mapped?.[1] && isIP(mapped[1]) === 4) return mapped[1]
  const [head = '', tail] = lower.split('::')
  const groups = (part: string | undefined) =>
    part ? part.split(':').flatMap(group => (group.includes('.') ? ['0', '0'] : [group])) : []
  const left = groups(head)
  const right = groups(tail)
  const all =
    tail === undefined
      ? left
      : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
  return `${all
    .slice(0, 4)
    .map(group => parseInt(group, 16).toString(16))
    .join(':')}::/64`
}
