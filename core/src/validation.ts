import { Kind, type Static, type TSchema } from '@sinclair/typebox'
import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value'
import { redactCredentials } from './redact.js'

/*
 * Schema validation with messages a person can act on: which key, what value, what was
 * expected. Used for the config file, plugin options and runtime settings alike.
 */

export interface Problem {
  /** Dotted key, e.g. `server.port`. */
  readonly key: string
  /** The offending value, already safe to print (secrets masked). */
  readonly value: string
  readonly expected: string
}

export type Validated<T extends TSchema> =
  { readonly ok: true; readonly value: Static<T> } | { readonly ok: false; readonly problems: readonly Problem[] }

const SECRET_KEY = /(secret|password|token|private|encryption|api_?key)/i

/** Fills defaults into a copy of `input` and checks it against `schema`. */
export function validate<T extends TSchema>(schema: T, input: unknown): Validated<T> {
  const value = Value.Default(schema, Value.Clone(input ?? {}))
  if (Value.Check(schema, value)) return { ok: true, value }
  const problems = new Map<string, Problem>()
  for (const error of Value.Errors(schema, value)) {
    const key = keyOf(error.path)
    // Unions report one error per branch; the first one for a key is the useful summary.
    if (!problems.has(key)) problems.set(key, toProblem(key, error))
  }
  return { ok: false, problems: [...problems.values()] }
}

/** One line per problem, e.g. `server.port = "abc": an integer from 0 to 65535`. */
export function formatProblems(problems: readonly Problem[], sources: Readonly<Record<string, string>> = {}): string {
  return problems
    .map(p => {
      const source = sourceOf(p.key, sources)
      const from = source ? ` (from ${source})` : ''
      return `  - ${p.key || '(root)'} = ${p.value}${from}: expected ${p.expected}`
    })
    .join('\n')
}

export function printable(key: string, value: unknown): string {
  if (value === undefined) return '(missing)'
  if (SECRET_KEY.test(key) && typeof value === 'string') return `"***" (${value.length} characters, hidden)`
  if (SECRET_KEY.test(key) && !isPlainObject(value)) return '"***" (hidden)'
  // A mapping may nest secrets (a plugin's `api_key` option) and any string may be a URL with a
  // password in it: mask both before printing, and before truncating, which could cut the `@`
  // that redactCredentials looks for.
  const text = redactCredentials(JSON.stringify(value, maskSecrets) ?? String(value))
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

function maskSecrets(key: string, value: unknown): unknown {
  return key !== '' && SECRET_KEY.test(key) && value !== undefined && !isPlainObject(value) ? '***' : value
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Where a problem's value came from. Sources are recorded per leaf key, while a problem may sit
 * below a leaf (`server.trust_proxy.1` of a list) or above one (an unknown mapping `servr`).
 */
function sourceOf(key: string, sources: Readonly<Record<string, string>>): string | undefined {
  for (let probe = key; probe !== ''; probe = probe.includes('.') ? probe.slice(0, probe.lastIndexOf('.')) : '') {
    if (sources[probe]) return sources[probe]
  }
  const below = Object.keys(sources).find(source => source.startsWith(`${key}.`))
  return below === undefined ? undefined : sources[below]
}

function keyOf(path: string): string {
  return path.split('/').filter(Boolean).join('.')
}

function toProblem(key: string, error: ValueError): Problem {
  const value = printable(key, error.value)
  if (error.type === ValueErrorType.ObjectAdditionalProperties || error.type === ValueErrorType.Never) {
    return { key, value, expected: 'no such key (check the spelling; unknown keys are refused)' }
  }
  if (error.type === ValueErrorType.ObjectRequiredProperty) {
    return { key, value: '(missing)', expected: describe(error.schema) }
  }
  return { key, value, expected: describe(error.schema) }
}

/** Says in words what a schema accepts. */
export function describe(schema: TSchema): string {
  if (schema.description && schema[Kind] === 'Unknown') return schema.description
  switch (schema[Kind]) {
    case 'Integer':
    case 'Number': {
      const noun = schema[Kind] === 'Integer' ? 'an integer' : 'a number'
      if (schema.minimum !== undefined && schema.maximum !== undefined)
        return `${noun} from ${schema.minimum} to ${schema.maximum}`
      if (schema.minimum !== undefined) return `${noun} of at least ${schema.minimum}`
      if (schema.maximum !== undefined) return `${noun} of at most ${schema.maximum}`
      return noun
    }
    case 'String': {
      // A format is named for machines (`iana-time-zone`); its schema says it for people.
      if (schema.format !== undefined && schema.description) return schema.description
      const parts = [schema.minLength === 1 ? 'a non-empty string' : 'a string']
      if (schema.minLength !== undefined && schema.minLength > 1)
        parts.push(`of at least ${schema.minLength} characters`)
      if (schema.maxLength !== undefined) parts.push(`of at most ${schema.maxLength} characters`)
      if (schema.pattern !== undefined) parts.push(`matching ${schema.pattern}`)
      if (schema.format !== undefined) parts.push(`in ${schema.format} format`)
      return parts.join(' ')
    }
    case 'Boolean':
      return 'true or false'
    case 'Literal':
      return JSON.stringify(schema.const)
    case 'Union': {
      const options = (schema.anyOf as TSchema[]).map(describe)
      return options.length <= 2 ? options.join(' or ') : `one of ${options.join(', ')}`
    }
    case 'Array':
      return `a list of ${plural(describe(schema.items as TSchema))}`
    case 'Object':
      return 'a mapping of keys to values'
    case 'Record':
      return 'a mapping of keys to values'
    default:
      return schema.description ?? 'a valid value'
  }
}

function plural(text: string): string {
  return text.replace(/^an? /, '').replace(/^(\w+)/, '$1s')
}
