import { fileURLToPath } from 'node:url'
import type { ClientBundleSource } from '@parley/core'

/*
 * The widget's two front ends, built by esbuild (core's buildClientBundle): the loader the host
 * page includes (`/widget.js`, one small file) and the frame the loader adds (`/widget/frame`),
 * whose Markdown renderer is a chunk fetched when the panel first opens.
 */

const CLIENT_SOURCES = fileURLToPath(new URL('../client/', import.meta.url))
export const FRAME_DIR = fileURLToPath(new URL('../dist/frame/', import.meta.url))
export const LOADER_DIR = fileURLToPath(new URL('../dist/loader/', import.meta.url))
export const FRAME_ASSETS_URL = '/widget/assets'
export const CONSOLE_DIR = fileURLToPath(new URL('../dist/console/', import.meta.url))
export const CONSOLE_ASSETS_URL = '/widget/console-assets'
export const TEMPLATES_DIR = fileURLToPath(new URL('../templates/', import.meta.url))

/** The console section's script and styles (templates/pages/widget-clients.hbs links them). */
export const CONSOLE_BUNDLE: ClientBundleSource = {
  script: `${CLIENT_SOURCES}console.ts`,
  stylesheet: `${CLIENT_SOURCES}console.css`,
  tsconfig: `${CLIENT_SOURCES}tsconfig.json`,
  outDir: CONSOLE_DIR,
  url: CONSOLE_ASSETS_URL,
}

export const FRAME_BUNDLE: ClientBundleSource = {
  script: `${CLIENT_SOURCES}frame.ts`,
  stylesheet: `${CLIENT_SOURCES}frame.css`,
  tsconfig: `${CLIENT_SOURCES}tsconfig.json`,
  outDir: FRAME_DIR,
  url: FRAME_ASSETS_URL,
  splitting: true,
}

export const LOADER_BUNDLE: ClientBundleSource = {
  script: `${CLIENT_SOURCES}loader.ts`,
  stylesheet: `${CLIENT_SOURCES}loader.css`,
  tsconfig: `${CLIENT_SOURCES}tsconfig.json`,
  outDir: LOADER_DIR,
  url: '/widget',
}
