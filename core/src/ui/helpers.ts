import Handlebars, { type HelperOptions } from 'handlebars'
import type { Language } from '../i18n.js'
import type { AssetTable } from './assets.js'
import type { Messages } from './theme-folder.js'

/*
 * The helpers every template gets. `t` returns plain text, which Handlebars escapes where it is
 * printed. `asset` and `custom_css` return engine-built URLs whose characters are all safe in
 * HTML (see AssetTable.url), marked safe so `=` is not printed as `&#x3D;`: these are the
 * engine-produced values allowed to skip escaping, and no template value can reach them raw.
 */

export interface HelperSources {
  readonly messages: ReadonlyMap<Language, Messages>
  readonly assets: AssetTable
  /** Key of the generated stylesheet that publishes colour settings as CSS variables. */
  readonly customCss: string
}

export function themeHelpers(sources: HelperSources): Record<string, (...args: unknown[]) => unknown> {
  return {
    /** `{{t "chat.greeting" name=user.name}}`: the text in the page's language, `{name}` filled in. */
    t(...args: unknown[]) {
      const options = args.at(-1) as HelperOptions
      const key = String(args[0] ?? '')
      const language = (options.data as { lang?: Language } | undefined)?.lang ?? 'en'
      const text = sources.messages.get(language)?.[key] ?? sources.messages.get('en')?.[key] ?? key
      const hash = (options.hash ?? {}) as Record<string, unknown>
      return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in hash ? String(hash[name] ?? '') : whole))
    },
    /** `{{asset "css/theme.css"}}`: the file's URL with its content hash, cacheable for a year. */
    asset(...args: unknown[]) {
      return new Handlebars.SafeString(sources.assets.url(String(args[0] ?? '')))
    },
    /** `{{custom_css}}`: URL of the stylesheet holding the colour settings as `--custom-*` variables. */
    custom_css() {
      return new Handlebars.SafeString(sources.assets.url(sources.customCss))
    },
    /** `{{#if (eq @custom.color_scheme "dark")}}`. */
    eq(...args: unknown[]) {
      return args.length >= 3 && args[0] === args[1]
    },
  }
}
