#!/usr/bin/env node
// The `parley` command. A committed shim, so npm can link it at install time, before
// `npm run build` has produced dist/.
import { existsSync } from 'node:fs'

const main = new URL('../dist/cli/main.js', import.meta.url)
if (!existsSync(main)) {
  console.error('parley: not built yet; run `npm run build` first')
  process.exit(1)
}
await import(main.href)
