import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildClientBundle, type BuiltBundle } from '@parley/core'
import { ADMIN_BUNDLE } from './bundle.js'

/**
 * Builds the console's front end (its TypeScript, Chart.js tree-shaken into it, and its
 * stylesheet) and the `admin/assets` partial. `npm run build` runs it after tsc; the browser
 * tests run it before they start.
 */
export async function buildConsole(outDir = ADMIN_BUNDLE.outDir): Promise<BuiltBundle> {
  return buildClientBundle({ ...ADMIN_BUNDLE, outDir })
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const built = await buildConsole()
  console.log(`admin bundle: app.js ${built.js.bytes} B, app.css ${built.css.bytes} B → ${built.dir}`)
}
