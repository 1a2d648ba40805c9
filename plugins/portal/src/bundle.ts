import { fileURLToPath } from 'node:url'
import type { ClientBundleSource } from '@parley/core'

/*
 * The portal's front-end bundle: client/ → dist/client/ by esbuild (core's buildClientBundle),
 * read and hashed once at setup and served from memory under /portal/assets.
 */

/** From src/ and dist/ alike: the bundle is always in the package's dist/client/. */
export const CLIENT_DIR = fileURLToPath(new URL('../dist/client/', import.meta.url))
const CLIENT_SOURCES = fileURLToPath(new URL('../client/', import.meta.url))
export const ASSETS_URL = '/portal/assets'

export const PORTAL_BUNDLE: ClientBundleSource = {
  script: `${CLIENT_SOURCES}main.ts`,
  stylesheet: `${CLIENT_SOURCES}portal.css`,
  tsconfig: `${CLIENT_SOURCES}tsconfig.json`,
  outDir: CLIENT_DIR,
  url: ASSETS_URL,
  // The answer renderer, highlight.js languages and KaTeX load with import(), after the first paint.
  splitting: true,
  lazyStylesheets: { katex: `${CLIENT_SOURCES}katex.css` },
}
