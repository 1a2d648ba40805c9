import Handlebars from 'handlebars'
import { problem, type ThemeProblem } from './rules.js'

/*
 * What a template uses, read from its syntax tree: the checker's rules and the engine's start-up
 * checks both come from here, so they never disagree.
 */

/** The only name `{{{ }}}` may print: the layout's page body, rendered (and escaped) by the engine. */
export const UNESCAPED_ALLOWED: ReadonlySet<string> = new Set(['body'])

export interface Use {
  readonly name: string
  readonly line: number
}

/** A partial a template includes; a partial block (`{{#> name}}fallback{{/name}}`) renders its fallback when none has the name. */
export interface PartialUse extends Use {
  readonly fallback: boolean
}

export interface TemplateUsage {
  readonly unescaped: Use[]
  readonly partials: PartialUse[]
  readonly translations: Use[]
  readonly assets: Use[]
  readonly custom: Use[]
  /** Whether the template prints `{{{body}}}` (the layout must). */
  readonly printsBody: boolean
}

export interface ScannedTemplate {
  /** Undefined when the template does not parse (a PT004 problem says why). */
  readonly ast: hbs.AST.Program | undefined
  readonly usage: TemplateUsage
  readonly problems: ThemeProblem[]
}

type Node = { type?: string; loc?: { start: { line: number } } } & Record<string, unknown>

export function scanTemplate(source: string, file: string): ScannedTemplate {
  const usage: TemplateUsage = {
    unescaped: [],
    partials: [],
    translations: [],
    assets: [],
    custom: [],
    printsBody: false,
  }
  let ast: hbs.AST.Program
  try {
    ast = Handlebars.parse(source)
  } catch (error) {
    const { message, line } = describeParseError(error)
    return { ast: undefined, usage, problems: [problem('PT004', file, message, line)] }
  }
  let printsBody = false
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item)
      return
    }
    if (typeof value !== 'object' || value === null) return
    const node = value as Node
    const line = node.loc?.start.line ?? 1
    switch (node.type) {
      case 'MustacheStatement': {
        const name = nameOf(node.path)
        if (node.escaped === false) {
          if (name !== undefined && UNESCAPED_ALLOWED.has(name) && !hasArguments(node)) printsBody = true
          else usage.unescaped.push({ name: name ?? '(expression)', line })
        }
        helperCall(node, name, line)
        break
      }
      case 'SubExpression':
      case 'BlockStatement':
        helperCall(node, nameOf(node.path), line)
        break
      case 'PartialStatement':
      case 'PartialBlockStatement': {
        const name = nameOf(node.name)
        if (name !== undefined) usage.partials.push({ name, line, fallback: node.type === 'PartialBlockStatement' })
        break
      }
      case 'PathExpression': {
        const parts = node.parts as string[]
        if (node.data === true && parts[0] === 'custom' && parts[1] !== undefined)
          usage.custom.push({ name: parts[1], line })
        break
      }
    }
    for (const [key, child] of Object.entries(node)) if (key !== 'loc' && typeof child === 'object') visit(child)
  }
  const helperCall = (node: Node, name: string | undefined, line: number) => {
    const first = (node.params as Node[] | undefined)?.[0]
    if (first?.type !== 'StringLiteral') return
    if (name === 't') usage.translations.push({ name: String(first.value), line })
    if (name === 'asset') usage.assets.push({ name: String(first.value), line })
  }
  visit(ast)
  const problems = usage.unescaped.map(use =>
    problem(
      'PT005',
      file,
      `{{{${use.name}}}} prints without escaping; only ${[...UNESCAPED_ALLOWED].join(', ')} may (use {{${use.name}}})`,
      use.line,
    ),
  )
  return { ast, usage: { ...usage, printsBody }, problems }
}

function nameOf(node: unknown): string | undefined {
  const value = node as Node | undefined
  if (value?.type === 'PathExpression') return String(value.original)
  if (value?.type === 'StringLiteral') return String(value.value)
  return undefined
}

function hasArguments(node: Node): boolean {
  return ((node.params as unknown[] | undefined)?.length ?? 0) > 0 || node.hash != null
}

function describeParseError(error: unknown): { message: string; line?: number } {
  const text = error instanceof Error ? error.message : String(error)
  const parseLine = /Parse error on line (\d+)/.exec(text)?.[1]
  const blockLine = /- (\d+):\d+\s*$/.exec(text.split('\n')[0] ?? '')?.[1]
  const line = Number(parseLine ?? blockLine ?? NaN)
  // A parse error is the position line, the source line, a caret and what was expected.
  const lines = text.split('\n')
  const reason = parseLine ? (lines.at(-1) ?? text) : (lines[0] ?? text)
  const message = `does not compile: ${reason.trim()}`
  return Number.isFinite(line) ? { message, line } : { message }
}
