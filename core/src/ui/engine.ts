import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import Handlebars from 'handlebars'
import { errors } from '../errors.js'
import { LANGUAGES, type Language } from '../i18n.js'
import type { Registered } from '../kernel/registry.js'
import { CORE_VERSION } from '../kernel/version.js'
import type { Logger } from '../logger.js'
import { AssetTable } from './assets.js'
import { checkTheme, cssVariableOf, formatThemeCheck } from './check-theme.js'
import type { UiPage, UiPartial } from './contributions.js'
import { themeHelpers } from './helpers.js'
import { checkCustomValue, type CustomValue, type ThemeManifest } from './manifest.js'
import type { ThemeProblem } from './rules.js'
import { scanTemplate } from './template-scan.js'
import { findTheme } from './theme-source.js'
import { partialName, readThemeFolder, templateName, type Messages } from './theme-folder.js'

/** The repository's `themes/` folder, beside `core/` (from src/ui and dist/ui alike). */
export const DEFAULT_THEMES_DIR = fileURLToPath(new URL('../../../themes/', import.meta.url))
/** Generated from the colour settings; a dotfile name, so no file of the theme can clash. */
const CUSTOM_CSS = '.custom.css'
/** The theme's page for unknown paths: `pages/not-found.hbs`, else this one. */
export const NOT_FOUND_TEMPLATE = 'not-found'
const FALLBACK_NOT_FOUND = `{{!< default}}
<section class="not-found" data-page="not-found">
  {{#if (eq site.lang "zh-CN")}}
    <h1>页面不存在</h1>
    <p>没有 <code>{{page.path}}</code> 这个页面。</p>
    <p><a href="/">返回首页</a></p>
  {{else}}
    <h1>Page not found</h1>
    <p>There is no page at <code>{{page.path}}</code>.</p>
    <p><a href="/">Go to the home page</a></p>
  {{/if}}
</section>
`

export interface ThemeEngineOptions {
  readonly theme: string
  readonly themesDir?: string
  readonly pages?: readonly Registered<UiPage>[]
  readonly partials?: readonly Registered<UiPartial>[]
  /** Values replacing the manifest's defaults of `config.custom` (checked like them). */
  readonly custom?: Readonly<Record<string, unknown>>
  readonly coreVersion?: string
  readonly log?: Logger
}

/** What a page template and the layout see, besides `@custom` and `@lang`. */
export interface PageContext {
  /** `color_mode`: what the layout prints as `<html data-theme>` (routes.ts says how it is chosen). */
  readonly site: { readonly title: string; readonly lang: Language; readonly color_mode?: 'system' | 'light' | 'dark' }
  readonly user?: { readonly name: string; readonly role: string }
  readonly page: { readonly path: string; readonly title?: string }
  readonly [key: string]: unknown
}

type Template = Handlebars.TemplateDelegate
type Internals = typeof Handlebars & {
  Compiler: new () => { compile(ast: hbs.AST.Program, options: object): unknown }
  JavaScriptCompiler: new () => {
    compile(environment: unknown, options: object, context: undefined, asObject: true): TemplateSpecification
  }
}

/**
 * The theme engine: loads the active theme and the UI plugins' templates, checks and compiles
 * every template once, and renders pages inside the theme's `default.hbs`. Resolution: the
 * theme first, then the plugin that registered the page or partial.
 */
export class ThemeEngine {
  readonly #hb = Handlebars.create() as Internals
  /** The theme's pages by template name, then the plugins' by file (two plugins may share a name). */
  readonly #pages = new Map<string, Template>()
  readonly #pluginPages = new Map<string, Template>()
  #layout: Template | undefined
  #notFound: Template | undefined
  #compiles = 0
  #custom: Readonly<Record<string, CustomValue>>
  #messages: ReadonlyMap<Language, Readonly<Record<string, string>>> = new Map()

  private constructor(
    readonly name: string,
    readonly dir: string,
    readonly manifest: ThemeManifest,
    custom: Readonly<Record<string, CustomValue>>,
    readonly assets: AssetTable,
  ) {
    this.#custom = custom
    // Handlebars compiles string partials lazily, per render; counting its compile() proves
    // the engine never hands it one (every template here is compiled once, at load).
    const compile = this.#hb.compile.bind(this.#hb)
    this.#hb.compile = ((...args: Parameters<typeof compile>) => {
      this.#compiles++
      return compile(...args)
    }) as typeof compile
  }

  static load(options: ThemeEngineOptions): ThemeEngine {
    const themesDir = options.themesDir ?? DEFAULT_THEMES_DIR
    const { dir, name } = findTheme(options.theme, themesDir, process.cwd())
    const pluginPartials = options.partials ?? []
    const check = checkTheme(dir, {
      coreVersion: options.coreVersion ?? CORE_VERSION,
      knownPartials: pluginPartials.map(p => p.item.name),
    })
    const fatal = check.problems.filter(p => p.level === 'error' && p.code !== 'PT007')
    if (fatal.length > 0 || !check.manifest)
      throw invalid(`theme ${options.theme}`, fatal.length > 0 ? fatal : check.problems)
    if (check.problems.length > 0)
      options.log?.warn(
        { theme: options.theme, problems: formatThemeCheck(check) },
        'theme has warnings (run parley check-theme)',
      )

    const manifest = check.manifest
    const custom = customValues(manifest, options.custom ?? {})
    const assets = AssetTable.fromFolder(`/assets/${name}`, path.join(dir, 'assets'), check.folder.assets)
    addCustomCss(assets, manifest, custom)

    const engine = new ThemeEngine(name, dir, manifest, custom, assets)
    const messages = new Map<Language, Record<string, string>>(LANGUAGES.map(language => [language, {}]))
    const known = new Set([
      ...pluginPartials.map(p => p.item.name),
      ...check.folder.templates.map(t => partialName(t.file)).filter(name => name !== undefined),
    ])
    const themed = new Set<string>()
    for (const template of check.folder.templates) {
      const compiled = engine.#compile(template.source, template.file, `theme ${options.theme}`, known)
      const partial = partialName(template.file)
      if (partial !== undefined) {
        engine.#hb.registerPartial(partial, compiled)
        themed.add(partial)
      } else if (template.file === 'default.hbs') engine.#layout = compiled
      else if (template.file.startsWith('pages/'))
        engine.#pages.set(templateName(template.file).slice('pages/'.length), compiled)
    }
    for (const { item, owner } of pluginPartials) {
      if (themed.has(item.name)) continue // the theme overrides the plugin's partial
      engine.#hb.registerPartial(
        item.name,
        engine.#compile(readFileSync(item.file, 'utf8'), item.file, `plugin ${owner}`, known),
      )
    }
    const pluginLocales = new Map<string, ReadonlyMap<Language, Messages>>()
    for (const { item, owner } of options.pages ?? []) {
      if (engine.#pages.has(item.template)) continue
      const file = pluginPageFile(item)
      if (engine.#pluginPages.has(file)) continue
      if (!existsSync(file)) {
        throw errors.PARLEY_ERR_THEME_TEMPLATE_MISSING({
          path: item.path,
          plugin: owner,
          template: item.template,
          theme: options.theme,
          dir: path.join(item.templatesDir, 'pages'),
        })
      }
      engine.#pluginPages.set(file, engine.#compile(readFileSync(file, 'utf8'), file, `plugin ${owner}`, known))
      if (!pluginLocales.has(item.templatesDir))
        pluginLocales.set(item.templatesDir, readThemeFolder(item.templatesDir).locales)
    }
    // The theme's texts win over the plugins' own, key by key.
    for (const locales of [...pluginLocales.values(), check.folder.locales]) {
      for (const [language, texts] of locales) Object.assign(messages.get(language) ?? {}, texts)
    }
    engine.#messages = messages
    engine.#notFound =
      engine.#pages.get(NOT_FOUND_TEMPLATE) ?? engine.#compile(FALLBACK_NOT_FOUND, 'core/not-found.hbs', 'core', known)
    const helpers = themeHelpers({ messages, assets, customCss: CUSTOM_CSS })
    for (const [name, helper] of Object.entries(helpers)) engine.#hb.registerHelper(name, helper)
    return engine
  }

  /** The theme's settings (`@custom` in templates): the manifest's defaults, then the overrides. */
  get custom(): Readonly<Record<string, CustomValue>> {
    return this.#custom
  }

  /**
   * Replaces setting values at run time (the console's theme settings), checked like the
   * configured ones; the colour stylesheet is rebuilt, so its URL changes with its content.
   */
  setCustom(overrides: Readonly<Record<string, unknown>>): void {
    const custom = customValues(this.manifest, { ...this.#custom, ...overrides })
    addCustomCss(this.assets, this.manifest, custom)
    this.#custom = custom
  }

  /** The text of `key` in `language` (the theme's locales over the plugins'), or undefined: no fallback. */
  message(language: Language, key: string): string | undefined {
    return this.#messages.get(language)?.[key]
  }

  /** Templates compiled since load: stays constant however many pages are rendered. */
  get compileCount(): number {
    return this.#compiles
  }

  /** Whether the active theme has `pages/<template>.hbs` (and so overrides the plugins'). */
  themeHasPage(template: string): boolean {
    return this.#pages.has(template)
  }

  /**
   * Renders a registered page — the theme's `pages/<template>.hbs`, else the plugin's — inside
   * `default.hbs`; every value printed is escaped.
   */
  render(page: Pick<UiPage, 'template' | 'templatesDir'>, context: PageContext): string {
    const template = this.#pages.get(page.template) ?? this.#pluginPages.get(pluginPageFile(page))
    if (!template || !this.#layout) throw errors.PARLEY_ERR_THEME_PAGE_UNKNOWN({ template: page.template })
    const data = { lang: context.site.lang, custom: this.#custom }
    const body = template(context, { data })
    return this.#layout({ ...context, body }, { data })
  }

  /**
   * The page for a path nothing answers, inside the layout: the theme's `pages/not-found.hbs`,
   * else core's own (in both languages). `context.page.path` is the path asked for.
   */
  renderNotFound(context: PageContext): string {
    if (!this.#notFound || !this.#layout) throw errors.PARLEY_ERR_THEME_PAGE_UNKNOWN({ template: NOT_FOUND_TEMPLATE })
    const data = { lang: context.site.lang, custom: this.#custom }
    return this.#layout({ ...context, body: this.#notFound(context, { data }) }, { data })
  }

  #compile(source: string, file: string, owner: string, knownPartials: ReadonlySet<string>): Template {
    const scanned = scanTemplate(source, file)
    const problems: ThemeProblem[] = [...scanned.problems]
    if (!scanned.ast) throw invalid(owner, problems)
    for (const use of scanned.usage.partials) {
      if (!use.name.startsWith('@') && !use.fallback && !knownPartials.has(use.name)) {
        problems.push({
          code: 'PT009',
          level: 'error',
          file,
          line: use.line,
          message: `partial "${use.name}" is neither in the theme nor registered by a plugin`,
        })
      }
    }
    for (const use of scanned.usage.assets) {
      if (!this.assets.has(use.name))
        problems.push({
          code: 'PT010',
          level: 'error',
          file,
          line: use.line,
          message: `asset "${use.name}" is not in the theme's assets/`,
        })
    }
    if (problems.length > 0) throw invalid(owner, problems)
    const options = { data: true }
    const environment = new this.#hb.Compiler().compile(scanned.ast, options)
    this.#compiles++
    return this.#hb.template(new this.#hb.JavaScriptCompiler().compile(environment, options, undefined, true))
  }
}

function pluginPageFile(page: Pick<UiPage, 'template' | 'templatesDir'>): string {
  return path.resolve(page.templatesDir, 'pages', `${page.template}.hbs`)
}

function addCustomCss(
  assets: AssetTable,
  manifest: ThemeManifest,
  custom: Readonly<Record<string, CustomValue>>,
): void {
  const variables = Object.entries(custom).filter(([key]) => manifest.custom[key]?.type === 'color')
  assets.add(
    CUSTOM_CSS,
    Buffer.from(
      `:root {\n${variables.map(([key, value]) => `  ${cssVariableOf(key)}: ${String(value)};\n`).join('')}}\n`,
    ),
  )
}

function customValues(
  manifest: ThemeManifest,
  overrides: Readonly<Record<string, unknown>>,
): Readonly<Record<string, CustomValue>> {
  const values: Record<string, CustomValue> = {}
  for (const [key, setting] of Object.entries(manifest.custom)) values[key] = setting.default
  for (const [key, value] of Object.entries(overrides)) {
    const setting = manifest.custom[key]
    if (!setting)
      throw errors.PARLEY_ERR_THEME_SETTING({ key, reason: `theme ${manifest.name} declares no such setting` })
    const checked = checkCustomValue(setting, value)
    if (!checked.ok) throw errors.PARLEY_ERR_THEME_SETTING({ key, reason: checked.reason })
    values[key] = checked.value
  }
  return Object.freeze(values)
}

/** `owner`: `theme <name>` or `plugin <id>`, whose templates have the problems. */
function invalid(owner: string, problems: readonly ThemeProblem[]) {
  const lines = problems.map(p => `  ${p.file}${p.line === undefined ? '' : `:${p.line}`} ${p.code} ${p.message}`)
  return errors.PARLEY_ERR_THEME_INVALID({ owner, problems: lines.join('\n') })
}
