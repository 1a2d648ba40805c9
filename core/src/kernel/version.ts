import { readFileSync } from 'node:fs'

/** @parley/core's own version, read from its package.json (src/ and dist/ sit at the same depth). */
export const CORE_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version
