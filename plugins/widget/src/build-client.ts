import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildClientBundle, type BuiltBundle } from '@parley/core'
import { CONSOLE_BUNDLE, FRAME_BUNDLE, LOADER_BUNDLE } from './bundle.js'

/**
 * Builds the widget's loader (`/widget.js`) and frame. `npm run build` runs it after tsc; the
 * widget's tests and the shipped-config test run it before they start.
 */
export async function buildWidget(): Promise<{ loader: BuiltBundle; frame: BuiltBundle; console: BuiltBundle }> {
  const [loader, frame, section] = await Promise.all([
    buildClientBundle(LOADER_BUNDLE),
    buildClientBundle(FRAME_BUNDLE),
    buildClientBundle(CONSOLE_BUNDLE),
  ])
  return { loader, frame, console: section }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { loader, frame } = await buildWidget()
  console.log(`widget bundle: widget.js ${loader.js.bytes} B, frame app.js ${frame.js.bytes} B → ${frame.dir}`)
}
