import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { LANGUAGES, type Language } from '../i18n.js'
import { problem, type ThemeProblem } from './rules.js'

/*
 * Reads the files of a theme folder (or a UI plugin's templates folder, which has the same
 * shape): `*.hbs` layouts at the top, `pages/**`, `partials/**`, `locales/<lang>.json` and
 * `assets/**`. Everything is read once, at start.
 */

export interface TemplateFile {
  /** Relative path with forward slashes, e.g. `partials/chat/item.hbs`. */
  readonly file: string
  readonly source: string
}

export type Messages = Readonly<Record<string, string>>

export interface ThemeFolder {
  readonly dir: string
  readonly templates: readonly TemplateFile[]
  readonly locales: ReadonlyMap<Language, Messages>
  /** Relative paths under `assets/`, forward slashes. */
  readonly assets: readonly string[]
  readonly problems: ThemeProblem[]
}

export function readThemeFolder(dir: string): ThemeFolder {
  const problems: ThemeProblem[] = []
  const templates: TemplateFile[] = []
  const top = listFiles(dir, false).filter(file => file.endsWith('.hbs'))
  const nested = ['pages', 'partials'].flatMap(folder =>
    listFiles(path.join(dir, folder), true)
      .filter(file => file.endsWith('.hbs'))
      .map(file => `${folder}/${file}`),
  )
  for (const file of [...top, ...nested]) templates.push({ file, source: readFileSync(path.join(dir, file), 'utf8') })

  const locales = new Map<Language, Messages>()
  for (const language of LANGUAGES) {
    const file = `locales/${language}.json`
    if (!existsSync(path.join(dir, file))) continue
    const messages = readMessages(path.join(dir, file))
    if (typeof messages === 'string') problems.push(problem('PT008', file, messages))
    else locales.set(language, messages)
  }
  const assets = listFiles(path.join(dir, 'assets'), true)
  return { dir, templates, locales, assets, problems }
}

/** Names of templates: `pages/home.hbs` → `pages/home`; partial names drop `partials/` too. */
export function templateName(file: string): string {
  return file.replace(/\.hbs$/, '')
}

export function partialName(file: string): string | undefined {
  return file.startsWith('partials/') ? templateName(file.slice('partials/'.length)) : undefined
}

function readMessages(file: string): Messages | string {
  let data: unknown
  try {
    data = JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    return `not valid JSON: ${(error as Error).message}`
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    return 'must hold an object of "key": "text" pairs'
  const bad = Object.entries(data)
    .filter(([, value]) => typeof value !== 'string')
    .map(([key]) => key)
  if (bad.length > 0) return `values must be strings (not: ${bad.slice(0, 5).join(', ')})`
  return Object.freeze({ ...(data as Record<string, string>) })
}

/** Files under `dir` (recursively or not), relative, forward slashes, dotfiles skipped. */
function listFiles(dir: string, recursive: boolean, prefix = ''): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return []
  const files: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue
    if (entry.isFile()) files.push(`${prefix}${entry.name}`)
    else if (recursive && entry.isDirectory())
      files.push(...listFiles(path.join(dir, entry.name), true, `${prefix}${entry.name}/`))
  }
  return files.sort()
}
