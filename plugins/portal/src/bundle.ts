import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { defineErrors } from '@parley/core'

/*
 * The portal's front-end bundle (client/ → dist/client/ by esbuild, see build-client.ts), read
 * and hashed once at setup and served from memory. The theme engine serves only the active
 * theme's assets, so the portal serves its own, the same way: `?v=<hash>` is immutable.
 */

/** From src/ and dist/ alike: the bundle is always in the package's dist/client/. */
export const CLIENT_DIR = fileURLToPath(new URL('../dist/client/', import.meta.url))
/** The files the build writes; the partial links the first two with their hashes. */
export const CLIENT_FILES = ['app.js', 'app.css'] as const
/** A partial written by the build: `<link>` and `<script>` with the content hashes. */
export const ASSETS_PARTIAL = 'assets.hbs'
export const ASSETS_URL = '/portal/assets'

export const IMMUTABLE = 'public, max-age=31536000, immutable'
export const REVALIDATE = 'public, max-age=0, must-revalidate'

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
}

export const portalErrors = defineErrors({
  PARLEY_ERR_PORTAL_BUNDLE_MISSING: {
    status: 500,
    type: 'internal_error',
    message: 'The portal front-end bundle is missing in {dir}: run `npm run build` (tests build it themselves)',
  },
})

export interface ClientFile {
  readonly body: Buffer
  readonly hash: string
  readonly contentType: string
}

export function contentHash(body: Buffer | string): string {
  return createHash('sha256').update(body).digest('hex').slice(0, 12)
}

/** Reads the built bundle; a missing file is a start-up error that says how to build it. */
export function readClientBundle(dir = CLIENT_DIR): ReadonlyMap<string, ClientFile> {
  const files = new Map<string, ClientFile>()
  for (const name of [...CLIENT_FILES, ASSETS_PARTIAL]) {
    if (!existsSync(path.join(dir, name))) throw portalErrors.PARLEY_ERR_PORTAL_BUNDLE_MISSING({ dir })
  }
  for (const name of CLIENT_FILES) {
    const body = readFileSync(path.join(dir, name))
    files.set(name, Object.freeze({ body, hash: contentHash(body), contentType: CONTENT_TYPES[path.extname(name)] ?? 'application/octet-stream' }))
  }
  return files
}
