/*
 * The tutorials (docs/tutorial-*.md) show code taken from the examples, which CI builds and
 * tests. Each code block except shell commands carries `<!-- excerpt: <file> -->` on the line
 * before it and must appear in that file word for word: change an example and forget its
 * tutorial, and this fails.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'

const ROOT = path.resolve(import.meta.dirname, '..')
const MARKER = /^<!-- excerpt: (\S+) -->$/
const FREE = new Set(['sh'])

interface Block {
  readonly line: number
  readonly lang: string
  readonly code: string
  readonly source: string | undefined
}

function blocks(markdown: string): Block[] {
  const lines = markdown.split('\n')
  const found: Block[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)$/.exec(lines[i] as string)
    if (!open) continue
    const end = lines.indexOf('```', i + 1)
    if (end < 0) throw new Error(`line ${i + 1}: a code block that never ends`)
    const source = MARKER.exec(lines[i - 1] ?? '')?.[1]
    found.push({ line: i + 1, lang: open[1] ?? '', code: lines.slice(i + 1, end).join('\n'), source })
    i = end
  }
  return found
}

/** What is wrong with a tutorial's excerpts, one line each. */
function problems(markdown: string, read: (file: string) => string | undefined): string[] {
  const out: string[] = []
  for (const block of blocks(markdown)) {
    if (FREE.has(block.lang)) continue
    if (!block.source) {
      out.push(`line ${block.line}: a ${block.lang || 'plain'} block without <!-- excerpt: <file> -->`)
      continue
    }
    if (!block.source.startsWith('examples/')) {
      out.push(`line ${block.line}: ${block.source} is not under examples/, which CI builds and tests`)
      continue
    }
    const text = read(block.source)
    if (text === undefined) out.push(`line ${block.line}: ${block.source} does not exist`)
    else if (!text.includes(block.code)) out.push(`line ${block.line}: the excerpt is not in ${block.source} as shown`)
  }
  return out
}

const readRepo = (file: string) => {
  const full = path.join(ROOT, file)
  return existsSync(full) ? readFileSync(full, 'utf8') : undefined
}

const tutorials = readdirSync(path.join(ROOT, 'docs')).filter(name => /^tutorial-.*\.md$/.test(name))

t.test('one tutorial each for a plugin, a provider and a theme', async t => {
  t.same(tutorials.sort(), ['tutorial-plugin.md', 'tutorial-provider.md', 'tutorial-theme.md'])
})

for (const name of tutorials) {
  t.test(`docs/${name}: every excerpt is in its example file`, async t => {
    const markdown = readFileSync(path.join(ROOT, 'docs', name), 'utf8')
    t.ok(blocks(markdown).filter(block => block.source).length >= 5, 'it shows the code')
    t.same(problems(markdown, readRepo), [])
  })
}

t.test('the check fails on a stale, unmarked or foreign excerpt', async t => {
  const files: Record<string, string> = { 'examples/x/a.ts': 'const a = 1\nconst b = 2\n' }
  const read = (file: string) => files[file]
  const doc = [
    '<!-- excerpt: examples/x/a.ts -->',
    '```ts',
    'const a = 1',
    'const b = 2',
    '```',
    '<!-- excerpt: examples/x/a.ts -->',
    '```ts',
    'const a = 3',
    '```',
    '```ts',
    'loose()',
    '```',
    '<!-- excerpt: core/src/index.ts -->',
    '```ts',
    'x',
    '```',
    '```sh',
    'npm test',
    '```',
  ].join('\n')
  t.same(problems(doc, read), [
    'line 7: the excerpt is not in examples/x/a.ts as shown',
    'line 10: a ts block without <!-- excerpt: <file> -->',
    'line 14: core/src/index.ts is not under examples/, which CI builds and tests',
  ])
})
