import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import path from 'node:path'
import { parse as parseYaml } from 'yaml'
import { errors } from '../errors.js'
import { formatProblems, printable, validate, type Problem } from '../validation.js'
import { readEnv } from './env.js'
import { ConfigSchema, type Config, type ParleyConfig } from './schema.js'

export const DEFAULT_CONFIG_FILE = 'config/default.yaml'

export interface LoadConfigOptions {
  /** Config file; default `PARLEY_CONFIG`, else `config/default.yaml` when it exists. */
  readonly file?: string | false
  /** Environment to read variables from; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>
  /** Values that win over file and environment (tests, embedding). Nested, snake_case. */
  readonly overrides?: Record<string, unknown>
  /** Base for relative paths; default `process.cwd()`. */
  readonly cwd?: string
}

/**
 * Reads config file, environment and overrides (later wins), validates the result once and
 * freezes it. A bad value throws PARLEY_ERR_CONFIG_INVALID naming key, value and expectation.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env
  const cwd = options.cwd ?? process.cwd()
  const sources: Record<string, string> = {}
  const file = resolveFile(options.file, env, cwd)
  const raw: Record<string, unknown> = file ? readYaml(file) : {}
  if (file) markSources(raw, '', `${path.relative(cwd, file) || file}`, sources)

  for (const override of readEnv(env)) {
    setPath(raw, override.key, override.value)
    sources[override.key] = `environment variable ${override.variable}`
  }
  if (options.overrides) {
    mergeInto(raw, options.overrides)
    markSources(options.overrides, '', 'overrides', sources)
  }

  const result = validate(ConfigSchema, raw)
  const problems: Problem[] = result.ok ? checkSemantics(result.value) : [...result.problems]
  if (!result.ok || problems.length > 0) {
    throw errors.PARLEY_ERR_CONFIG_INVALID({ problems: formatProblems(problems, sources) })
  }
  const config = result.value
  resolveExposureDefaults(config)
  config.data_dir = path.resolve(cwd, config.data_dir)
  config.database.path = path.resolve(cwd, config.database.path ?? path.join(config.data_dir, 'parley.db'))
  if (config.themes_dir !== undefined) config.themes_dir = path.resolve(cwd, config.themes_dir)
  return deepFreeze({ ...config, sources, file }) as Config
}

function resolveFile(
  option: string | false | undefined,
  env: LoadConfigOptions['env'] & object,
  cwd: string,
): string | undefined {
  if (option === false) return undefined
  const explicit = option ?? env.PARLEY_CONFIG
  if (explicit) return path.resolve(cwd, explicit)
  const fallback = path.resolve(cwd, DEFAULT_CONFIG_FILE)
  try {
    readFileSync(fallback)
    return fallback
  } catch {
    return undefined // no config file: schema defaults and environment only
  }
}

function readYaml(file: string): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw errors.PARLEY_ERR_CONFIG_FILE({ file, reason: (error as NodeJS.ErrnoException).code ?? String(error) })
  }
  let data: unknown
  try {
    data = parseYaml(text)
  } catch (error) {
    throw errors.PARLEY_ERR_CONFIG_FILE({ file, reason: (error as Error).message.split('\n')[0] })
  }
  if (data === null || data === undefined) return {}
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw errors.PARLEY_ERR_CONFIG_FILE({ file, reason: 'the top level must be a mapping of keys to values' })
  }
  return data as Record<string, unknown>
}

/** Checks a schema cannot express. */
function checkSemantics(config: ParleyConfig): Problem[] {
  const problems: Problem[] = []
  const proxies = config.server.trust_proxy
  if (proxies !== false) {
    proxies.forEach((entry, index) => {
      if (!isProxyEntry(entry)) {
        problems.push({
          key: `server.trust_proxy.${index}`,
          value: printable('', entry),
          expected: 'an IP address, a CIDR range such as 10.0.0.0/8, or loopback/linklocal/uniquelocal',
        })
      }
    })
  }
  config.server.metrics.allow?.forEach((entry, index) => {
    if (entry.includes('/') ? !isProxyEntry(entry) : isIP(entry) === 0) {
      problems.push({
        key: `server.metrics.allow.${index}`,
        value: printable('', entry),
        expected: 'an IP address or a CIDR range such as 10.0.0.0/8',
      })
    }
  })
  if (!isTimeZone(config.settings.time_zone)) {
    problems.push({
      key: 'settings.time_zone',
      value: printable('', config.settings.time_zone),
      expected: 'an IANA time zone such as UTC or Asia/Shanghai',
    })
  }
  if (
    config.env === 'production' &&
    config.server.cors_origins.includes('*') &&
    config.server.cors_origins.length > 1
  ) {
    problems.push({
      key: 'server.cors_origins',
      value: printable('', config.server.cors_origins),
      expected: '"*" alone or a list of origins',
    })
  }
  return problems
}

/**
 * What a production deployment shows anonymous callers by default: no API docs, and metrics
 * (channel names, per-route counts) only to the host itself or the token's holder.
 */
function resolveExposureDefaults(config: ParleyConfig): void {
  const production = config.env === 'production'
  config.server.docs ??= !production
  const metrics = config.server.metrics
  metrics.allow ??= metrics.token !== undefined ? [] : production ? ['127.0.0.0/8', '::1'] : ['0.0.0.0/0', '::/0']
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone })
    return true
  } catch {
    return false
  }
}

function isProxyEntry(entry: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) return true
  const [address, bits, extra] = entry.split('/')
  if (extra !== undefined || address === undefined) return false
  const family = isIP(address)
  if (family === 0) return false
  if (bits === undefined) return true
  const prefix = Number(bits)
  return /^\d+$/.test(bits) && prefix >= 0 && prefix <= (family === 4 ? 32 : 128)
}

function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.')
  let node = target
  for (const part of parts.slice(0, -1)) {
    const next = node[part]
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[part] = {}
    node = node[part] as Record<string, unknown>
  }
  node[parts[parts.length - 1] as string] = value
}

function mergeInto(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key]
    if (isPlainObject(value) && isPlainObject(existing)) mergeInto(existing, value)
    else target[key] = value
  }
}

function markSources(
  data: Record<string, unknown>,
  prefix: string,
  label: string,
  sources: Record<string, string>,
): void {
  for (const [key, value] of Object.entries(data)) {
    const dotted = prefix ? `${prefix}.${key}` : key
    if (isPlainObject(value)) markSources(value, dotted, label, sources)
    else sources[dotted] = label
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const inner of Object.values(value)) deepFreeze(inner)
  }
  return value
}
