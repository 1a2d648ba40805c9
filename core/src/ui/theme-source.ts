import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { errors } from '../errors.js'

/** A theme's folder name under `themes_dir`; also what its asset URLs are prefixed with. */
export const THEME_NAME = /^[a-z0-9][a-z0-9._-]*$/i
const PACKAGE_NAME = /^(?:@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*$/

export interface ThemeSource {
  /** The theme's folder. */
  readonly dir: string
  /** A URL-safe name for `/assets/<name>/` and the logs. */
  readonly name: string
}

/**
 * Where the configured `theme` is: a folder name under `themes_dir` (`default`, `ink`), a path
 * (`./my-theme`, `/srv/themes/paper`), or an installed package (`@acme/parley-theme-paper`).
 * Paths and packages are resolved from `baseDir`, the working directory, as `themes_dir` is.
 */
export function findTheme(theme: string, themesDir: string, baseDir: string): ThemeSource {
  if (THEME_NAME.test(theme) && existsSync(path.join(themesDir, theme)))
    return { dir: path.resolve(themesDir, theme), name: theme }
  if (theme.startsWith('.') || path.isAbsolute(theme)) {
    const dir = path.resolve(baseDir, theme)
    if (!existsSync(path.join(dir, 'package.json'))) throw errors.PARLEY_ERR_THEME_NOT_FOUND({ theme, dir })
    return { dir, name: urlName(path.basename(dir)) }
  }
  if (PACKAGE_NAME.test(theme)) {
    try {
      const manifest = createRequire(path.join(baseDir, 'index.js')).resolve(`${theme}/package.json`)
      return { dir: path.dirname(manifest), name: urlName(theme.replace(/^@/, '').replace('/', '-')) }
    } catch {
      // Neither a folder under themes_dir nor an installed package: say where it was looked for.
    }
  }
  throw errors.PARLEY_ERR_THEME_NOT_FOUND({ theme, dir: themesDir })
}

function urlName(name: string): string {
  const safe = name.replace(/[^a-z0-9._-]/gi, '-').replace(/^[^a-z0-9]+/i, '')
  return safe === '' ? 'theme' : safe
}
