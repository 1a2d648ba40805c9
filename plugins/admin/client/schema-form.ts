import { h } from './dom.js'
import { t } from './i18n.js'
import { field } from './ui.js'

/*
 * Forms generated from JSON schemas: a provider's channel settings, and every core, plugin and
 * theme setting. A third-party provider or plugin gets its form from the schema it declared.
 * Supported: strings (colour, long text, secrets), integers and numbers with their bounds,
 * booleans, a union of constants (a select), `T | null`, string lists and string maps.
 */

export interface JsonSchema {
  type?: string | string[]
  const?: unknown
  anyOf?: JsonSchema[]
  enum?: unknown[]
  properties?: Record<string, JsonSchema>
  patternProperties?: Record<string, JsonSchema>
  additionalProperties?: boolean | JsonSchema
  items?: JsonSchema
  required?: string[]
  default?: unknown
  description?: string
  title?: string
  minimum?: number
  maximum?: number
  maxLength?: number
  format?: string
  pattern?: string
}

export interface FieldSpec {
  readonly name: string
  readonly label: string
  readonly schema: JsonSchema
  readonly value: unknown
  readonly help?: string
  /** A sealed secret: write-only, an empty input keeps the stored value. */
  readonly secret?: boolean
  readonly required?: boolean
  /** A select's option labels by value (else each option's schema `title`, else the value). */
  readonly optionLabels?: Readonly<Record<string, string>>
}

export interface GeneratedField {
  readonly name: string
  readonly element: HTMLElement
  /** The value to send, `undefined` to leave it out; throws a message for the field. */
  read(): unknown
}

/** How colour settings are declared (core's theme settings): drawn as a colour picker. */
const COLOR_PATTERN = '^#[0-9a-fA-F]{6}$'
const COLOR = new RegExp(COLOR_PATTERN)

/**
 * Puts a native colour picker beside a colour's text input: picking writes the text, and a
 * valid text moves the picker. The text stays the value read and sent.
 */
function pairColorPicker(text: HTMLInputElement, label: string): void {
  const picker = h('input', {
    type: 'color',
    class: 'admin-color-picker',
    'aria-label': t('form.pick_color', { name: label }),
    'data-role': 'color-picker',
  })
  const sync = () => {
    if (COLOR.test(text.value.trim())) picker.value = text.value.trim().toLowerCase()
  }
  sync()
  picker.addEventListener('input', () => (text.value = picker.value))
  text.addEventListener('input', sync)
  const pair = h('div', { class: 'admin-color' })
  text.replaceWith(pair)
  pair.append(text, picker)
}

type Kind = 'select' | 'boolean' | 'integer' | 'number' | 'text' | 'color' | 'longtext' | 'list' | 'map' | 'json'

/** Constants of a union (`'a' | 'b'`), or undefined when the schema is not one. */
function choices(schema: JsonSchema): unknown[] | undefined {
  if (Array.isArray(schema.enum)) return schema.enum
  const options = schema.anyOf?.filter(option => option.type !== 'null')
  if (options?.length && options.every(option => 'const' in option)) return options.map(option => option.const)
  return undefined
}

/** The schema without its `null` alternative, and whether null is allowed. */
function unwrapNullable(schema: JsonSchema): { schema: JsonSchema; nullable: boolean } {
  const options = schema.anyOf
  if (!options || choices(schema)) return { schema, nullable: false }
  const rest = options.filter(option => option.type !== 'null')
  return rest.length === 1 && rest.length < options.length
    ? { schema: { ...rest[0], description: schema.description ?? rest[0]?.description }, nullable: true }
    : { schema, nullable: false }
}

function kindOf(schema: JsonSchema, secret: boolean): Kind {
  if (choices(schema)) return 'select'
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type
  if (type === 'boolean') return 'boolean'
  if (type === 'integer') return 'integer'
  if (type === 'number') return 'number'
  if (type === 'array' && schema.items?.type === 'string') return 'list'
  if (
    type === 'object' &&
    !schema.properties &&
    (schema.patternProperties || typeof schema.additionalProperties === 'object')
  ) {
    const values = Object.values(schema.patternProperties ?? {})[0] ?? (schema.additionalProperties as JsonSchema)
    if (values.type === 'string') return 'map'
  }
  if (type === 'string') {
    if (schema.format === 'color' || schema.pattern === COLOR_PATTERN) return 'color'
    return secret || (schema.maxLength ?? 0) > 1000 ? 'longtext' : 'text'
  }
  return 'json'
}

export function generateField(spec: FieldSpec): GeneratedField {
  const { schema, nullable } = unwrapNullable(spec.schema)
  const kind = kindOf(schema, spec.secret === true)
  const help = spec.help ?? schema.description
  let control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement
  switch (kind) {
    case 'select': {
      const options = choices(schema) ?? []
      const blank = nullable || (!spec.required && schema.default === undefined)
      const titles = new Map((schema.anyOf ?? []).map(option => [String(option.const), option.title]))
      const label = (option: unknown) =>
        spec.optionLabels?.[String(option)] ?? titles.get(String(option)) ?? String(option)
      control = h(
        'select',
        {},
        ...(blank ? [h('option', { value: '' }, '—')] : []),
        ...options.map(option => h('option', { value: String(option) }, label(option))),
      )
      control.value = spec.value === undefined || spec.value === null ? '' : String(spec.value)
      break
    }
    case 'boolean':
      control = h('input', { type: 'checkbox' })
      control.checked = spec.value === true
      break
    case 'integer':
    case 'number':
      control = h('input', {
        type: 'number',
        step: kind === 'integer' ? '1' : 'any',
        min: schema.minimum,
        max: schema.maximum,
      })
      control.value = typeof spec.value === 'number' ? String(spec.value) : ''
      if (nullable) control.placeholder = t('form.empty_means_none')
      break
    case 'color':
      // The text is the value (it can be typed or pasted); the native picker beside it edits it too.
      control = h('input', {
        type: 'text',
        maxlength: 7,
        pattern: '#[0-9a-fA-F]{6}',
        spellcheck: 'false',
        autocomplete: 'off',
        class: 'admin-color-text',
      })
      control.value = typeof spec.value === 'string' ? spec.value : ''
      break
    case 'list':
      control = h('textarea', { rows: 3, placeholder: t('form.one_per_line') })
      control.value = Array.isArray(spec.value) ? spec.value.join('\n') : ''
      break
    case 'map':
      control = h('textarea', { rows: 3, placeholder: 'name = value' })
      control.value =
        spec.value && typeof spec.value === 'object'
          ? Object.entries(spec.value)
              .map(([key, value]) => `${key} = ${String(value)}`)
              .join('\n')
          : ''
      break
    case 'json':
      control = h('textarea', { rows: 4, spellcheck: 'false' })
      control.value = spec.value === undefined ? '' : JSON.stringify(spec.value, null, 2)
      break
    case 'longtext':
      control = h('textarea', { rows: spec.secret ? 4 : 3, spellcheck: 'false', autocomplete: 'off' })
      if (!spec.secret) control.value = typeof spec.value === 'string' ? spec.value : ''
      break
    default:
      control = h('input', { type: 'text', maxlength: schema.maxLength, autocomplete: 'off' })
      if (!spec.secret) control.value = typeof spec.value === 'string' ? spec.value : ''
  }
  if (spec.secret) {
    // A stored secret comes back as `{ hint }` (never its value) and is never put in the form.
    const hint =
      typeof spec.value === 'object' && spec.value !== null ? (spec.value as { hint?: unknown }).hint : undefined
    control.setAttribute(
      'placeholder',
      typeof hint === 'string' ? t('form.secret_kept', { hint }) : t('form.secret_new'),
    )
  }
  const element = field(spec.name, spec.label, control, help)
  if (kind === 'color') pairColorPicker(control as HTMLInputElement, spec.label)

  const read = (): unknown => {
    const text = 'value' in control ? control.value.trim() : ''
    switch (kind) {
      case 'boolean':
        return (control as HTMLInputElement).checked
      case 'select':
        return text === ''
          ? nullable
            ? null
            : undefined
          : (choices(schema) ?? []).find(option => String(option) === text)
      case 'integer':
      case 'number': {
        if (text === '') return nullable ? null : undefined
        const number = Number(text)
        if (!Number.isFinite(number) || (kind === 'integer' && !Number.isInteger(number)))
          throw new Error(t('form.not_a_number'))
        return number
      }
      case 'color':
        if (text === '' && !spec.required) return nullable ? null : undefined
        if (!COLOR.test(text)) throw new Error(t('form.not_a_color'))
        return text.toLowerCase()
      case 'list':
        return text
          .split(/[\n,]/)
          .map(item => item.trim())
          .filter(Boolean)
      case 'map': {
        const map: Record<string, string> = {}
        for (const line of text
          .split('\n')
          .map(item => item.trim())
          .filter(Boolean)) {
          const at = line.indexOf('=')
          if (at <= 0) throw new Error(t('form.map_line', { line }))
          map[line.slice(0, at).trim()] = line.slice(at + 1).trim()
        }
        return map
      }
      case 'json':
        if (text === '') return undefined
        try {
          return JSON.parse(text) as unknown
        } catch {
          throw new Error(t('form.not_json'))
        }
      default:
        // A secret left empty keeps its stored value; an optional text left empty is left out.
        if (text === '' && (spec.secret || !spec.required)) return undefined
        return kind === 'longtext' ? ('value' in control ? control.value : text) : text
    }
  }
  return { name: spec.name, element, read }
}

/** Reads every field; a field that cannot be read gets its message and the whole read fails. */
export function readFields(fields: readonly GeneratedField[]): Record<string, unknown> | undefined {
  const values: Record<string, unknown> = {}
  let ok = true
  for (const generated of fields) {
    const slot = generated.element.querySelector<HTMLElement>('[data-role=field-error]')
    try {
      const value = generated.read()
      if (value !== undefined) values[generated.name] = value
    } catch (error) {
      ok = false
      if (slot) {
        slot.textContent = (error as Error).message
        slot.hidden = false
      }
    }
  }
  return ok ? values : undefined
}

/** `max_retries` → `Max retries`: the label of a property whose schema has no `title`. */
export function readableName(name: string): string {
  const words = name.replace(/_/g, ' ').trim()
  return words.charAt(0).toUpperCase() + words.slice(1)
}

/** Fields for each property of an object schema (a provider's channel settings). */
export function objectFields(
  schema: JsonSchema | null,
  values: Record<string, unknown>,
  secrets: readonly string[],
): GeneratedField[] {
  if (!schema?.properties) return []
  const required = new Set(schema.required ?? [])
  return Object.entries(schema.properties).map(([name, property]) =>
    generateField({
      name,
      label: property.title ?? readableName(name),
      schema: property,
      value: values[name] ?? property.default,
      secret: secrets.includes(name),
      required: required.has(name),
    }),
  )
}
