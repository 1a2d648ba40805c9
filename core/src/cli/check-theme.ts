import path from 'node:path'
import { checkTheme, formatThemeCheck } from '../ui/check-theme.js'
import type { CliIo } from './run.js'

const USAGE = 'Usage: parley check-theme [--json] <theme dir>...\n'

/**
 * `parley check-theme <dir>...`: checks theme folders without starting a gateway. Exit code 1
 * when any theme has an error, 0 otherwise (warnings alone pass); 2 for a usage mistake.
 */
export function runCheckTheme(args: readonly string[], io: CliIo): number {
  const json = args.includes('--json')
  const unknown = args.filter(arg => arg.startsWith('-') && arg !== '--json')
  const dirs = args.filter(arg => !arg.startsWith('-'))
  if (unknown.length > 0 || dirs.length === 0) {
    io.err.write(`parley: ${unknown.length > 0 ? `unknown option ${unknown[0]}` : 'name a theme folder'}\n${USAGE}`)
    return 2
  }
  const results = dirs.map(dir => checkTheme(path.resolve(dir)))
  if (json) {
    const themes = results.map(result => ({
      dir: result.dir,
      name: result.manifest?.name ?? null,
      errors: result.errors,
      warnings: result.warnings,
      problems: result.problems,
    }))
    io.out.write(`${JSON.stringify({ ok: results.every(result => result.errors === 0), themes }, null, 2)}\n`)
  } else {
    for (const result of results) io.out.write(formatThemeCheck(result))
  }
  return results.some(result => result.errors > 0) ? 1 : 0
}
