import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { Kind } from '@sinclair/typebox'
import semver from 'semver'
import { deepFreeze } from '../config/load.js'
import type { PluginConfigEntry } from '../config/schema.js'
import { errors } from '../errors.js'
import { formatProblems, validate } from '../validation.js'
import type { AnyPluginDefinition, PluginEntry } from './plugin.js'

export const PLUGIN_ID = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/

export interface LoadedPlugin {
  readonly definition: AnyPluginDefinition
  readonly options: Readonly<Record<string, unknown>>
}

/**
 * Imports the plugin modules the config names. Relative specifiers are relative to the config
 * file; anything else is a package name resolved like any import. Named, never discovered.
 */
export async function importPlugins(
  entries: readonly PluginConfigEntry[],
  configFile: string | undefined,
): Promise<PluginEntry[]> {
  const base = configFile ? path.dirname(configFile) : process.cwd()
  const loaded: PluginEntry[] = []
  for (const entry of entries) {
    const specifier = typeof entry === 'string' ? entry : entry.use
    const target =
      specifier.startsWith('.') || path.isAbsolute(specifier)
        ? pathToFileURL(path.resolve(base, specifier)).href
        : specifier
    let module: Record<string, unknown>
    try {
      module = (await import(target)) as Record<string, unknown>
    } catch (error) {
      throw errors.PARLEY_ERR_PLUGIN_LOAD(
        { module: specifier, reason: (error as Error).message.split('\n')[0] },
        { cause: error },
      )
    }
    const plugin = (module.default ?? module.plugin) as AnyPluginDefinition | undefined
    if (!plugin || typeof plugin !== 'object' || typeof plugin.setup !== 'function') {
      throw errors.PARLEY_ERR_PLUGIN_LOAD({
        module: specifier,
        reason: 'its default export is not a plugin (use definePlugin)',
      })
    }
    loaded.push({ plugin, options: typeof entry === 'string' ? undefined : entry.options })
  }
  return loaded
}

/**
 * Checks every plugin's metadata and options, then orders them so each loads after the
 * plugins it requires (config order otherwise). Any problem stops the start with a coded
 * error naming the plugin.
 */
export function resolvePlugins(entries: readonly PluginEntry[], coreVersion: string): LoadedPlugin[] {
  const byId = new Map<string, LoadedPlugin>()
  for (const { plugin, options } of entries) {
    const id = typeof plugin.id === 'string' ? plugin.id : String(plugin.id)
    if (!PLUGIN_ID.test(id) || id.length < 2 || id.length > 50) throw errors.PARLEY_ERR_PLUGIN_ID({ plugin: id })
    if (id === 'core')
      throw errors.PARLEY_ERR_PLUGIN_INVALID({ plugin: id, reason: '"core" is reserved for the kernel' })
    if (byId.has(id)) throw errors.PARLEY_ERR_PLUGIN_DUPLICATE({ plugin: id })
    if (typeof plugin.version !== 'string' || !semver.valid(plugin.version)) {
      throw errors.PARLEY_ERR_PLUGIN_INVALID({
        plugin: id,
        reason: `version ${JSON.stringify(plugin.version)} is not semver (e.g. 1.0.0)`,
      })
    }
    if (plugin.core !== undefined) {
      if (!semver.validRange(plugin.core)) {
        throw errors.PARLEY_ERR_PLUGIN_INVALID({
          plugin: id,
          reason: `core range ${JSON.stringify(plugin.core)} is not a semver range`,
        })
      }
      if (!semver.satisfies(coreVersion, plugin.core, { includePrerelease: true })) {
        throw errors.PARLEY_ERR_PLUGIN_CORE_VERSION({ plugin: id, range: plugin.core, version: coreVersion })
      }
    }
    byId.set(id, { definition: plugin, options: validateOptions(plugin, options) })
  }

  const ordered: LoadedPlugin[] = []
  const state = new Map<string, 'visiting' | 'done'>()
  const visit = (id: string, trail: string[]): void => {
    if (state.get(id) === 'done') return
    if (state.get(id) === 'visiting') {
      const cycle = [...trail.slice(trail.indexOf(id)), id]
      throw errors.PARLEY_ERR_PLUGIN_CYCLE({ cycle: cycle.join(' -> ') })
    }
    state.set(id, 'visiting')
    const loaded = byId.get(id) as LoadedPlugin
    for (const dependency of loaded.definition.requires ?? []) {
      if (!byId.has(dependency)) throw errors.PARLEY_ERR_PLUGIN_MISSING_DEPENDENCY({ plugin: id, dependency })
      visit(dependency, [...trail, id])
    }
    for (const dependency of loaded.definition.optional ?? []) {
      if (byId.has(dependency)) visit(dependency, [...trail, id])
    }
    state.set(id, 'done')
    ordered.push(loaded)
  }
  for (const id of byId.keys()) visit(id, [])
  return ordered
}

function validateOptions(
  plugin: AnyPluginDefinition,
  options: Readonly<Record<string, unknown>> | undefined,
): Readonly<Record<string, unknown>> {
  if (!plugin.options) {
    if (options && Object.keys(options).length > 0) {
      throw errors.PARLEY_ERR_PLUGIN_OPTIONS({
        plugin: plugin.id,
        problems: `  - this plugin takes no options, got: ${Object.keys(options).join(', ')}`,
      })
    }
    return Object.freeze({})
  }
  // An object schema that does not say otherwise refuses unknown keys: a misspelt option must
  // stop the start, not be ignored: a silent fallback would hide the operator's mistake.
  const schema =
    plugin.options[Kind] === 'Object' && plugin.options.additionalProperties === undefined
      ? { ...plugin.options, additionalProperties: false }
      : plugin.options
  const result = validate(schema, options ?? {})
  if (!result.ok)
    throw errors.PARLEY_ERR_PLUGIN_OPTIONS({ plugin: plugin.id, problems: formatProblems(result.problems) })
  return deepFreeze(result.value as Record<string, unknown>)
}
