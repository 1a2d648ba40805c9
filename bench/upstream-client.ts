/**
 * What the reference proxies share: the upstream's key, and the undici Parley itself uses
 * (`@parley/core`'s dependency, which may be a newer major than the one the bench's own
 * dependencies resolve to), so a ratio never compares two versions of the HTTP client.
 */
import { createRequire } from 'node:module'
import type * as Undici from 'undici'

export const UPSTREAM_KEY = 'Bearer sk-bench-upstream-key'

export function parleyUndici(): typeof Undici {
  return createRequire(import.meta.resolve('@parley/core'))('undici') as typeof Undici
}
