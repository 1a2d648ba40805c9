import { Type, type TSchema } from '@sinclair/typebox'
import type { EventBus } from '../events/bus.js'
import { LANGUAGES } from '../i18n.js'
import type { Logger } from '../logger.js'
import { readableKey, type SettingDefinition, type SettingTexts, type SettingsRegistry } from '../settings/registry.js'
import type { ThemeEngine } from './engine.js'
import type { CustomSetting } from './manifest.js'

export const THEME_SETTING_PREFIX = 'theme.'
/** A colour setting's pattern; forms draw a colour picker for a string of this pattern. */
export const COLOR_PATTERN = '^#[0-9a-fA-F]{6}$'

/**
 * Publishes the active theme's declared settings (`config.custom`) as runtime settings
 * `theme.<name>`, owned by `theme:<theme>`: the console edits them like any other setting, and
 * every instance applies a change to its engine within a second. The manifest's values are
 * the defaults. Labels come from the theme's locale files (`custom.<name>.title`,
 * `custom.<name>.description`, `custom.<name>.option.<value>`), else from the manifest.
 */
export function installThemeSettings(
  engine: ThemeEngine,
  settings: SettingsRegistry,
  events: EventBus,
  log: Logger,
): void {
  const owner = `theme:${engine.name}`
  const keys = new Map<string, string>()
  for (const [name, declared] of Object.entries(engine.manifest.custom)) {
    const key = `${THEME_SETTING_PREFIX}${name}`
    const locales = localesOf(engine, name, declared)
    const english = locales.en
    const schema = schemaOf(
      { ...declared, ...(english?.description ? { description: english.description } : {}) },
      english?.title ?? readableKey(name),
    )
    settings.define({ key, schema, default: engine.custom[name], locales, public: true }, owner)
    keys.set(key, name)
  }
  events.on('settings.changed', ({ key }) => {
    const name = keys.get(key)
    if (name === undefined) return
    try {
      engine.setCustom({ [name]: settings.get(key) })
    } catch (error) {
      // The registry checked the value against the same rules; this is a guard, not a path.
      log.warn({ err: error, key }, 'theme setting not applied')
    }
  })
}

/** The setting's texts in each language the theme's locale files give them in. */
function localesOf(
  engine: ThemeEngine,
  name: string,
  setting: CustomSetting,
): NonNullable<SettingDefinition['locales']> {
  const locales: Record<string, SettingTexts> = {}
  for (const language of LANGUAGES) {
    const text = (suffix: string) => engine.message(language, `custom.${name}.${suffix}`)
    const options = Object.fromEntries(
      (setting.options ?? [])
        .map(option => [option, text(`option.${option}`)])
        .filter((entry): entry is [string, string] => entry[1] !== undefined),
    )
    const title = text('title')
    const description = text('description')
    const texts: { title?: string; description?: string; options?: Record<string, string> } = {}
    if (title !== undefined) texts.title = title
    if (description !== undefined) texts.description = description
    if (Object.keys(options).length > 0) texts.options = options
    if (Object.keys(texts).length > 0) locales[language] = texts
  }
  return locales
}

function schemaOf(setting: CustomSetting, title: string): TSchema {
  const description = setting.description === undefined ? { title } : { title, description: setting.description }
  switch (setting.type) {
    case 'select':
      return Type.Union(
        (setting.options ?? []).map(option => Type.Literal(option)),
        description,
      )
    case 'boolean':
      return Type.Boolean(description)
    case 'color':
      return Type.String({ pattern: COLOR_PATTERN, ...description })
    case 'image':
      return Type.String({ maxLength: 2000, pattern: '^$|^https?://\\S+$|^/(?!/)\\S*$', ...description })
    default:
      return Type.String({ maxLength: 2000, ...description })
  }
}
