import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { PLUGIN_ID } from '../kernel/loader.js'
import { CORE_VERSION } from '../kernel/version.js'
import type { CliIo } from './run.js'
import { pluginScaffold, themeScaffold } from './scaffolds.js'

const USAGE = 'Usage: parley new plugin|theme <name> [folder]   (name: kebab-case, e.g. support-tickets)\n'

/**
 * `parley new plugin|theme <name> [folder]`: writes a plugin or theme folder (default
 * `./<name>`) whose test passes, so an author starts from green. Refuses a folder that is not
 * empty: nothing is overwritten. Exit code 2 for a usage mistake.
 */
export function runNew(args: readonly string[], io: CliIo): number {
  const [kind, name, folder] = args
  if ((kind !== 'plugin' && kind !== 'theme') || name === undefined || args.length > 3) {
    io.err.write(`parley: say what to create and its name\n${USAGE}`)
    return 2
  }
  if (!PLUGIN_ID.test(name) || name.length < 2 || name.length > 50) {
    io.err.write(`parley: "${name}" is not a kebab-case name of 2 to 50 characters\n${USAGE}`)
    return 2
  }
  const dir = path.resolve(folder ?? name)
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    io.err.write(`parley: ${dir} exists and is not empty; nothing was written\n`)
    return 1
  }
  const files = kind === 'plugin' ? pluginScaffold(name, CORE_VERSION) : themeScaffold(name, CORE_VERSION)
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true })
    writeFileSync(path.join(dir, file), content)
  }
  const shown = path.relative(process.cwd(), dir) || '.'
  io.out.write(
    `Created the ${kind} ${name} in ${shown}:\n${Object.keys(files)
      .map(file => `  ${file}\n`)
      .join('')}Next: cd ${shown} && npm install && npm test\n`,
  )
  return 0
}
