import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { LANGUAGES } from '../i18n.js'
import { CORE_VERSION } from '../kernel/version.js'
import { readManifest, type ThemeManifest } from './manifest.js'
import { problem, type ThemeProblem } from './rules.js'
import { scanTemplate, type TemplateUsage } from './template-scan.js'
import { partialName, readThemeFolder, type ThemeFolder } from './theme-folder.js'

/*
 * `parley check-theme`: validates a theme folder on its own, like Ghost's gscan. The engine
 * runs the same checks at start (with the partials of the installed UI plugins known too).
 */

export interface ThemeCheckOptions {
  /** The core version `engines.parley` must include; default: this core. */
  readonly coreVersion?: string
  /** Partials that exist outside the theme (registered by UI plugins). */
  readonly knownPartials?: Iterable<string>
}

export interface ThemeCheckResult {
  readonly dir: string
  readonly manifest: ThemeManifest | undefined
  readonly folder: ThemeFolder
  /** Sorted by file, then line. */
  readonly problems: readonly ThemeProblem[]
  readonly errors: number
  readonly warnings: number
  /** What each template uses, by file (the engine compiles from the same parse). */
  readonly usage: ReadonlyMap<string, TemplateUsage>
}

/** The CSS custom property a colour setting is published as, e.g. `--custom-accent-color`. */
export function cssVariableOf(setting: string): string {
  return `--custom-${setting.replace(/_/g, '-')}`
}

export function checkTheme(dir: string, options: ThemeCheckOptions = {}): ThemeCheckResult {
  const problems: ThemeProblem[] = []
  if (!existsSync(dir)) {
    const folder: ThemeFolder = { dir, templates: [], locales: new Map(), assets: [], problems: [] }
    problems.push(problem('PT001', '.', `theme folder ${dir} does not exist`))
    return { dir, manifest: undefined, folder, problems, errors: 1, warnings: 0, usage: new Map() }
  }
  const { manifest, custom, problems: manifestProblems } = readManifest(dir, options.coreVersion ?? CORE_VERSION)
  problems.push(...manifestProblems)
  const folder = readThemeFolder(dir)
  problems.push(...folder.problems)

  const usage = new Map<string, TemplateUsage>()
  for (const template of folder.templates) {
    const scanned = scanTemplate(template.source, template.file)
    problems.push(...scanned.problems)
    usage.set(template.file, scanned.usage)
  }
  const layout = usage.get('default.hbs')
  if (!folder.templates.some(template => template.file === 'default.hbs'))
    problems.push(problem('PT003', 'default.hbs', 'default.hbs is missing: every theme needs the layout'))
  else if (layout && !layout.printsBody)
    problems.push(problem('PT003', 'default.hbs', 'default.hbs never prints {{{body}}}, so no page would show'))

  const partials = new Set([
    ...folder.templates.map(t => partialName(t.file)).filter(name => name !== undefined),
    ...(options.knownPartials ?? []),
  ])
  const missingKeys = new Set<string>()
  const used = new Set<string>()
  for (const [file, uses] of usage) {
    for (const use of uses.partials) {
      if (!use.name.startsWith('@') && !use.fallback && !partials.has(use.name))
        problems.push(problem('PT009', file, `partial "${use.name}" is not in partials/`, use.line))
    }
    for (const use of uses.assets) {
      if (!folder.assets.includes(use.name))
        problems.push(problem('PT010', file, `asset "${use.name}" is not in assets/`, use.line))
    }
    for (const use of uses.translations) {
      for (const language of LANGUAGES) {
        const messages = folder.locales.get(language)
        if (messages?.[use.name] !== undefined || missingKeys.has(`${language}\0${use.name}`)) continue
        missingKeys.add(`${language}\0${use.name}`)
        problems.push(
          problem('PT008', file, `{{t "${use.name}"}}: the key is missing from locales/${language}.json`, use.line),
        )
      }
    }
    for (const use of uses.custom) {
      used.add(use.name)
      if (!(use.name in custom))
        problems.push(
          problem('PT006', file, `@custom.${use.name} is not declared in package.json config.custom`, use.line),
        )
    }
  }
  const stylesheets = folder.assets
    .filter(file => file.endsWith('.css'))
    .map(file => readFileSync(path.join(dir, 'assets', file), 'utf8'))
  for (const [name, setting] of Object.entries(custom)) {
    const inCss = setting.type === 'color' && stylesheets.some(css => css.includes(`var(${cssVariableOf(name)}`))
    if (!used.has(name) && !inCss) {
      const hint = setting.type === 'color' ? ` or var(${cssVariableOf(name)}) in a stylesheet` : ''
      problems.push(
        problem(
          'PT007',
          'package.json',
          `config.custom.${name} is declared but never used: use @custom.${name} in a template${hint}, or remove it`,
        ),
      )
    }
  }
  problems.sort((a, b) => a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0) || a.code.localeCompare(b.code))
  return {
    dir,
    manifest,
    folder,
    problems,
    errors: problems.filter(p => p.level === 'error').length,
    warnings: problems.filter(p => p.level === 'warning').length,
    usage,
  }
}

/** One line per problem, `file:line CODE level message`, then a summary line. */
export function formatThemeCheck(result: ThemeCheckResult): string {
  const lines = result.problems.map(
    p => `${p.file}${p.line === undefined ? '' : `:${p.line}`}  ${p.code} ${p.level}  ${p.message}`,
  )
  const name = result.manifest?.name ?? path.basename(result.dir)
  lines.push(`${name}: ${result.errors} error(s), ${result.warnings} warning(s)`)
  return `${lines.join('\n')}\n`
}
