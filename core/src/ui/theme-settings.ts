import { Type, type TSchema } from '@sinclair/typebox'
import type { EventBus } from '../events/bus.js'
import type { Logger } from '../logger.js'
import type { SettingsRegistry } from '../settings/registry.js'
import type { ThemeEngine } from './engine.js'
import type { CustomSetting } from './manifest.js'

export const THEME_SETTING_PREFIX = 'theme.'
/** A colour setting's pattern; forms draw a colour picker for a string of this pattern. */
export const COLOR_PATTERN = '^#[0-9a-fA-F]{6}$'

/**
 * Publishes the active theme's declared settings (`config.custom`) as runtime settings
 * `theme.<name>`, owned by `theme:<theme>`: the console edits them like any other setting, and
 * every instance applies a change to its engine within a second. The manifest's values are
 * the defaults.
 */
export function installThemeSettings(engine: ThemeEngine, settings: SettingsRegistry, events: EventBus, log: Logger): void {
  const owner = `theme:${engine.name}`
  const keys = new Map<string, string>()
  for (const [name, declared] of Object.entries(engine.manifest.custom)) {
    const key = `${THEME_SETTING_PREFIX}${name}`
    settings.define({ key, schema: schemaOf(declared), default: engine.custom[name], ...(declared.description ? { description: declared.description } : {}), public: true }, owner)
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

function schemaOf(setting: CustomSetting): TSchema {
  const description = setting.description === undefined ? {} : { description: setting.description }
  switch (setting.type) {
    case 'select':
      return Type.Union((setting.options ?? []).map(option => Type.Literal(option)), description)
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
