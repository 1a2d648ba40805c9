import { fileURLToPath } from 'node:url'
import type { ClientBundleSource } from '@parley/core'

/** The console's front end: client/ → dist/client/ by esbuild, served from /admin-assets. */
export const CLIENT_DIR = fileURLToPath(new URL('../dist/client/', import.meta.url))
const CLIENT_SOURCES = fileURLToPath(new URL('../client/', import.meta.url))
export const ASSETS_URL = '/admin-assets'

export const ADMIN_BUNDLE: ClientBundleSource = {
  script: `${CLIENT_SOURCES}main.ts`,
  stylesheet: `${CLIENT_SOURCES}admin.css`,
  tsconfig: `${CLIENT_SOURCES}tsconfig.json`,
  outDir: CLIENT_DIR,
  url: ASSETS_URL,
}
