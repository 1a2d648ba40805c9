import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildClientBundle, type BuiltBundle } from '@parley/core'
import { PORTAL_BUNDLE } from './bundle.js'

/*
 * Builds the portal's front end: client/main.ts and client/portal.css → dist/client/app.js and
 * app.css, plus the `portal/assets` partial. `npm run build` runs it after tsc; the browser
 * tests run it before they start (so they never test a stale bundle).
 */

export type BuiltClient = BuiltBundle

export async function buildClient(outDir = PORTAL_BUNDLE.outDir): Promise<BuiltClient> {
  return buildClientBundle({ ...PORTAL_BUNDLE, outDir })
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const built = await buildClient()
  console.log(`portal bundle: app.js ${built.js.bytes} B, app.css ${built.css.bytes} B → ${built.dir}`)
}
