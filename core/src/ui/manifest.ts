import { readFileSync } from 'node:fs'
import path from 'node:path'
import semver from 'semver'
import { problem, type ThemeProblem } from './rules.js'

/*
 * A theme's manifest is its package.json (Ghost style): name, version, `engines.parley` and the
 * typed settings under `config.custom`. Read once at start; every problem gets a rule code.
 */

export type CustomSettingType = 'select' | 'boolean' | 'color' | 'image' | 'text'
export type CustomValue = string | boolean

export interface CustomSetting {
  readonly type: CustomSettingType
  readonly default: CustomValue
  readonly options?: readonly string[]
  readonly description?: string
  readonly group?: string
}

export interface ThemeManifest {
  readonly name: string
  readonly version: string
  readonly engine: string
  readonly custom: Readonly<Record<string, CustomSetting>>
}

const SETTING_NAME = /^[a-z][a-z0-9_]*$/
const COLOR = /^#[0-9a-fA-F]{6}$/
const SETTING_KEYS = new Set(['type', 'default', 'options', 'description', 'group'])
const TYPES = new Set<string>(['select', 'boolean', 'color', 'image', 'text'])

export interface ManifestResult {
  /** Undefined unless name, version and engines.parley are usable (PT001, PT002 say why). */
  readonly manifest: ThemeManifest | undefined
  /** The valid settings of `config.custom`, even when the rest of the manifest is not. */
  readonly custom: Readonly<Record<string, CustomSetting>>
  readonly problems: ThemeProblem[]
}

export function readManifest(dir: string, coreVersion: string): ManifestResult {
  const file = 'package.json'
  let data: unknown
  try {
    data = JSON.parse(readFileSync(path.join(dir, file), 'utf8'))
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'is missing'
        : `is not valid JSON (${(error as Error).message})`
    return { manifest: undefined, custom: {}, problems: [problem('PT001', file, `package.json ${reason}`)] }
  }
  if (!isObject(data))
    return {
      manifest: undefined,
      custom: {},
      problems: [problem('PT001', file, 'package.json must hold a JSON object')],
    }
  const problems: ThemeProblem[] = []
  const name = typeof data.name === 'string' && data.name.trim() !== '' ? data.name : undefined
  if (!name) problems.push(problem('PT001', file, '"name" must be a non-empty string'))
  const version = typeof data.version === 'string' && semver.valid(data.version) ? data.version : undefined
  if (!version) problems.push(problem('PT001', file, '"version" must be a semver version such as 1.0.0'))

  const engines = isObject(data.engines) ? data.engines : {}
  const engine = typeof engines.parley === 'string' ? engines.parley : undefined
  if (engine === undefined)
    problems.push(
      problem(
        'PT002',
        file,
        '"engines.parley" is missing: say which Parley versions the theme supports, e.g. "^0.1.0"',
      ),
    )
  else if (!semver.validRange(engine))
    problems.push(problem('PT002', file, `"engines.parley" = ${JSON.stringify(engine)} is not a semver range`))
  else if (!semver.satisfies(coreVersion, engine, { includePrerelease: true })) {
    problems.push(
      problem(
        'PT002',
        file,
        `"engines.parley" = ${JSON.stringify(engine)} does not include this Parley (${coreVersion})`,
      ),
    )
  }

  const config = isObject(data.config) ? data.config : {}
  const custom: Record<string, CustomSetting> = {}
  if (config.custom !== undefined && !isObject(config.custom)) {
    problems.push(problem('PT006', file, '"config.custom" must be an object of settings'))
  } else {
    for (const [key, raw] of Object.entries(config.custom ?? {})) {
      const checked = checkSetting(key, raw)
      if (typeof checked === 'string') problems.push(problem('PT006', file, `config.custom.${key}: ${checked}`))
      else custom[key] = checked
    }
  }
  const manifest = name && version && engine !== undefined ? { name, version, engine, custom } : undefined
  return { manifest, custom, problems }
}

/** A setting as declared, or the reason it is not valid. */
function checkSetting(key: string, raw: unknown): CustomSetting | string {
  if (!SETTING_NAME.test(key)) return 'setting names are snake_case (a-z, 0-9, _), starting with a letter'
  if (!isObject(raw)) return 'must be an object with a "type"'
  const unknown = Object.keys(raw).filter(name => !SETTING_KEYS.has(name))
  if (unknown.length > 0) return `unknown field(s) ${unknown.join(', ')} (known: ${[...SETTING_KEYS].join(', ')})`
  const type = raw.type
  if (typeof type !== 'string' || !TYPES.has(type)) return `"type" must be one of ${[...TYPES].join(', ')}`
  if (raw.description !== undefined && typeof raw.description !== 'string') return '"description" must be a string'
  if (raw.group !== undefined && typeof raw.group !== 'string') return '"group" must be a string'
  const extra = {
    ...(typeof raw.description === 'string' ? { description: raw.description } : {}),
    ...(typeof raw.group === 'string' ? { group: raw.group } : {}),
  }
  if (type !== 'select' && raw.options !== undefined) return '"options" belongs to select settings only'
  const value = raw.default
  switch (type) {
    case 'select': {
      const options = raw.options
      if (
        !Array.isArray(options) ||
        options.length === 0 ||
        !options.every(option => typeof option === 'string' && option !== '')
      ) {
        return 'a select needs "options": a non-empty list of strings'
      }
      if (new Set(options).size !== options.length) return '"options" lists a value twice'
      if (typeof value !== 'string' || !options.includes(value))
        return `"default" must be one of the options (${options.join(', ')})`
      return { type, default: value, options: options as string[], ...extra }
    }
    case 'boolean':
      if (typeof value !== 'boolean') return '"default" must be true or false'
      return { type, default: value, ...extra }
    case 'color':
      if (typeof value !== 'string' || !COLOR.test(value)) return '"default" must be a colour written #rrggbb'
      return { type, default: value.toLowerCase(), ...extra }
    case 'image':
      if (value !== undefined && !isImageReference(value))
        return '"default" must be empty, an http(s) URL or a path starting with /'
      return { type, default: (value as string | undefined) ?? '', ...extra }
    default:
      if (value !== undefined && typeof value !== 'string') return '"default" must be a string'
      return { type: 'text', default: (value as string | undefined) ?? '', ...extra }
  }
}

export type CustomCheck =
  { readonly ok: true; readonly value: CustomValue } | { readonly ok: false; readonly reason: string }

/**
 * Checks an override of a declared setting (runtime settings, later the admin console) with
 * the same rules as its default.
 */
export function checkCustomValue(setting: CustomSetting, value: unknown): CustomCheck {
  const refuse = (reason: string): CustomCheck => ({ ok: false, reason })
  switch (setting.type) {
    case 'select':
      return typeof value === 'string' && setting.options?.includes(value)
        ? { ok: true, value }
        : refuse(`expected one of ${setting.options?.join(', ')}`)
    case 'boolean':
      return typeof value === 'boolean' ? { ok: true, value } : refuse('expected true or false')
    case 'color':
      return typeof value === 'string' && COLOR.test(value)
        ? { ok: true, value: value.toLowerCase() }
        : refuse('expected a colour written #rrggbb')
    case 'image':
      return isImageReference(value)
        ? { ok: true, value }
        : refuse('expected empty, an http(s) URL or a path starting with /')
    default:
      return typeof value === 'string' ? { ok: true, value } : refuse('expected a string')
  }
}

function isImageReference(value: unknown): value is string {
  return (
    typeof value === 'string' && (value === '' || /^https?:\/\/[^\s]+$/i.test(value) || /^\/(?!\/)[^\s]*$/.test(value))
  )
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
