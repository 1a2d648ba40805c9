/**
 * Reads a V8 `.cpuprofile` (from the bench or `node --cpu-prof`) and lists where the time
 * went: by stage of a Parley request, functions by self time, functions by total time (self
 * plus callees, each counted once per sample), and self time by package or source file. Run alone:
 * `node --import <ts loader> bench/profile-summary.ts <file.cpuprofile> [top]`.
 */
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly children?: readonly number[]
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[]
  readonly samples: readonly number[]
  readonly timeDeltas: readonly number[]
}

/** Frames that are not code: the profile's bookkeeping. */
const META = new Set(['(root)', '(program)', '(idle)', '(garbage collector)'])

/**
 * Parley's per-request stages, recognised by the files and functions on a sample's stack. The
 * first stage that matches wins, so the order resolves overlaps (a usage insert that logs is
 * usage, not logging). Anything else is the HTTP server and client, Fastify and streams.
 */
const STAGES: ReadonlyArray<readonly [string, RegExp]> = [
  ['garbage collection', /^\(garbage collector\)/],
  [
    'usage rows: batched inserts (MikroORM, knex, sqlite3)',
    /batch-writer\.ts|usage\/writer\.ts|@mikro-orm|\/knex\/|sqlite3/,
  ],
  ['request context hook: ids, child logger', /http\/context\.ts/],
  ['blocked-IP check', /blocklist\//],
  ['metrics hook (prom-client)', /http\/metrics\.ts|prom-client/],
  [
    'authentication: API token to principal',
    /pipeline\/authenticate\.ts|identity\/src\/principals\.ts|api-token-format\.ts/,
  ],
  ['limits hook: caller and channel', /^(checkCaller|channelAllowed) /],
  ['usage row built by the pipeline', /^(record|usageOf) .*chat-pipeline\.ts/],
  [
    'request body: JSON parse and schema validation',
    /secure-json-parse|fastify\/lib\/validation\.js|\/ajv|content-type-parser/,
  ],
  [
    'answer relay: per-chunk waits, SSE split and tap, writes to the client',
    /pipeline\/sse\.ts|^(relay|pump|write|drained|commit|wait|next|sendStream|end|finish) .*chat-pipeline\.ts/,
  ],
  ['upstream call: body serialisation, undici', /openai\/src\/provider\.ts|upstream-exchange\.ts|undici/],
  [
    'rest of the pipeline: routing, attempts, passthrough',
    /pipeline\/chat-pipeline\.ts|pipeline\/chat-routes\.ts|catalog\/|key-health\.ts/,
  ],
  ['logging (pino)', /\/pino\//],
]
const REST = 'HTTP server and client, Fastify, streams, other'

function where(url: string): string {
  if (url === '') return '(native)'
  const modules = url.lastIndexOf('/node_modules/')
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/')
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] as string)
  }
  if (url.startsWith('node:')) return url
  const source = /\/(core|plugins\/[^/]+|bench)\/(src\/)?(.*)$/.exec(url)
  return source ? `${source[1]}/${source[2] ?? ''}${source[3]}` : url
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame
  if (META.has(functionName)) return functionName
  // TypeScript sources run transpiled: their line numbers are the emitted JavaScript's, so they would mislead.
  return `${functionName || '(anonymous)'} ${where(url)}${url.endsWith('.ts') ? '' : `:${lineNumber + 1}`}`
}

function top(map: Map<string, number>, total: number, count: number): string[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(
      ([name, us]) =>
        `${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}`,
    )
}

export function summarize(file: string, count = 25): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map(profile.nodes.map(node => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const self = new Map<string, number>()
  const inclusive = new Map<string, number>()
  const files = new Map<string, number>()
  const stages = new Map<string, number>()
  let total = 0
  let busy = 0
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0
    const node = byId.get(id) as ProfileNode
    total += delta
    if (node.callFrame.functionName === '(idle)') return
    busy += delta
    const name = label(node)
    self.set(name, (self.get(name) ?? 0) + delta)
    const area = META.has(node.callFrame.functionName) ? node.callFrame.functionName : where(node.callFrame.url)
    files.set(area, (files.get(area) ?? 0) + delta)
    const seen = new Set<string>()
    const stack: string[] = []
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at) as ProfileNode
      stack.push(`${frame.callFrame.functionName} ${frame.callFrame.url}`)
      const name = label(frame)
      if (META.has(name) || seen.has(name)) continue
      seen.add(name)
      inclusive.set(name, (inclusive.get(name) ?? 0) + delta)
    }
    const stage = STAGES.find(([, pattern]) => stack.some(frame => pattern.test(frame)))?.[0] ?? REST
    stages.set(stage, (stages.get(stage) ?? 0) + delta)
  })
  return [
    `profile ${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (${((100 * busy) / total).toFixed(0)}%); percentages are of busy time`,
    '',
    'by stage of a Parley request:',
    ...top(stages, busy, STAGES.length + 1),
    '',
    'self time by function:',
    ...top(self, busy, count),
    '',
    'total time by function (self + callees):',
    ...top(inclusive, busy, count),
    '',
    'self time by package or source file:',
    ...top(files, busy, count),
  ].join('\n')
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [file, count] = process.argv.slice(2)
  if (!file) throw new Error('usage: profile-summary.ts <file.cpuprofile> [top]')
  console.log(summarize(file, count ? Number(count) : 25))
}
