/*
 * What Parley's packages cost in resident memory at start, and what a started gateway holds:
 * the method and figures are in bench/NOTES.md ("Memory at start"). It runs the build under
 * plain node (Node strips this file's types), so no TypeScript loader sits in the figures:
 *
 *   npm run build && node bench/start-memory.ts
 *
 * 1. Packages, one after the other in one process, in the order the gateway loads them:
 *    the RSS and live heap each adds after a full collection (what it shares with earlier ones
 *    counts for the earlier ones).
 * 2. Each package alone in a fresh process: its whole cost, shared dependencies included.
 * 3. `parley start` from core/dist with the shipped config (config/default.yaml) and with a
 *    config like the bench's (production, identity + openai + rate-limit), on a new data
 *    directory (it migrates) and again on the same one: RSS two seconds after /healthz answers,
 *    and, with a module hook in the last run, which of the watched packages each loaded.
 *    START_MEMORY_RUNS (3) runs of each; START_MEMORY_ONLY=gateway skips 1 and 2.
 */
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

const ROOT = path.resolve(import.meta.dirname, '..')

/** In the order createGateway meets them; the plugins' own packages last. */
const PACKAGES = [
  'fastify',
  'pino',
  'prom-client',
  '@fastify/swagger',
  '@fastify/swagger-ui',
  '@mikro-orm/core',
  '@mikro-orm/sqlite',
  '@mikro-orm/migrations',
  'ioredis',
  'bullmq',
  'rate-limiter-flexible',
  'handlebars',
  'undici',
  '@parley/core',
  '@parley/identity',
  '@parley/openai',
  '@parley/rate-limit',
  '@parley/coze',
  '@parley/widget',
  '@parley/portal',
  '@parley/admin',
  '@aws-sdk/client-s3',
  'nodemailer',
]

/** Packages a gateway should load only when its config uses them (and the dev tools never). */
const WATCHED = [
  '@mikro-orm/migrations',
  'umzug',
  'bullmq',
  'ioredis',
  'rate-limiter-flexible',
  '@aws-sdk/client-s3',
  'nodemailer',
  '@fastify/swagger-ui',
  'gpt-tokenizer',
  'playwright-core',
  'esbuild',
  'tap',
  'typescript',
]

interface Sample {
  readonly rssMb: number
  readonly heapMb: number
}

function sample(): Sample {
  ;(globalThis as { gc?: () => void }).gc?.()
  const { rss, heapUsed } = process.memoryUsage()
  return { rssMb: rss / 2 ** 20, heapMb: heapUsed / 2 ** 20 }
}

/** Child mode: import the given packages in order, one JSON line per step. */
async function importSteps(names: readonly string[]): Promise<void> {
  const lines = [{ step: '(node)', ...sample() }]
  for (const name of names) {
    await import(name)
    lines.push({ step: name, ...sample() })
  }
  process.stdout.write(JSON.stringify(lines))
}

function runSteps(names: readonly string[]): Array<{ step: string } & Sample> {
  const result = spawnSync(process.execPath, ['--expose-gc', import.meta.filename, '--steps', ...names], {
    cwd: ROOT,
    encoding: 'utf8',
  })
  if (result.status !== 0) throw new Error(`import of ${names.join(', ')} failed:\n${result.stderr}`)
  return JSON.parse(result.stdout) as Array<{ step: string } & Sample>
}

const mb = (value: number) => value.toFixed(1).padStart(6)

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
    server.on('error', reject)
  })
}

function rssOf(pid: number): number {
  const line = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return line ? Number(line[1]) / 1024 : Number.NaN
}

/** Records the package of every module the process loads; SIGUSR2 writes them to MODULE_LOG. */
const MODULE_LOG_HOOK = `data:text/javascript,${encodeURIComponent(`
import { registerHooks } from 'node:module'
import { writeFileSync } from 'node:fs'
const seen = new Set()
registerHooks({ load(url, context, next) { seen.add(url); return next(url, context) } })
process.on('SIGUSR2', () => {
  const names = new Set()
  for (const url of seen) {
    const match = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(url)
    if (match) names.add(match[1])
  }
  writeFileSync(process.env.MODULE_LOG, [...names].sort().join('\\n'))
})`)}`

/** `parley start` from the build; resolves to its idle RSS and, with `listModules`, its packages. */
async function startGateway(
  configFile: string | undefined,
  dataDir: string,
  listModules: boolean,
): Promise<{ rssMb: number; packages?: string[] }> {
  const port = await freePort()
  const moduleLog = path.join(dataDir, 'modules.txt')
  const child = spawn(
    process.execPath,
    [...(listModules ? ['--import', MODULE_LOG_HOOK] : []), 'core/dist/cli/main.js', 'start'],
    {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        DATA_DIR: dataDir,
        APP_PORT: String(port),
        MODULE_LOG: moduleLog,
        // Production refuses to make up its keys; the bench passes its own the same way.
        SECRET_KEY: randomBytes(32).toString('hex'),
        ENCRYPTION_KEY: randomBytes(32).toString('hex'),
        ...(configFile ? { PARLEY_CONFIG: configFile } : {}),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  )
  let errors = ''
  child.stderr.on('data', chunk => (errors += chunk))
  try {
    const deadline = Date.now() + 60_000
    for (;;) {
      if (child.exitCode !== null) throw new Error(`parley start exited with ${child.exitCode}:\n${errors}`)
      if (Date.now() > deadline) throw new Error(`no answer on /healthz within 60 s:\n${errors}`)
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        response => response.ok,
        () => false,
      )
      if (ok) break
      await sleep(200)
    }
    await sleep(2000)
    const rssMb = rssOf(child.pid as number)
    if (!listModules) return { rssMb }
    child.kill('SIGUSR2')
    await sleep(500)
    return { rssMb, packages: readFileSync(moduleLog, 'utf8').split('\n') }
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise(resolve => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
  }
}

async function main(): Promise<void> {
  console.log(`Node ${process.version}; figures in MB, after a full collection (packages) or 2 s idle (gateway)\n`)
  if (process.env.START_MEMORY_ONLY !== 'gateway') packageCosts()
  await gatewayCosts()
}

function packageCosts(): void {
  console.log('1. one after the other in one process: what each adds')
  console.log('   package                      RSS    heap')
  let previous: Sample | undefined
  for (const line of runSteps(PACKAGES)) {
    const rss = previous ? `+${mb(line.rssMb - previous.rssMb)}` : ` ${mb(line.rssMb)}`
    const heap = previous ? `+${mb(line.heapMb - previous.heapMb)}` : ` ${mb(line.heapMb)}`
    console.log(`   ${line.step.padEnd(26)} ${rss} ${heap}`)
    previous = line
  }
  console.log('\n2. each alone in a fresh process: RSS and heap above plain node')
  for (const name of PACKAGES) {
    const [base, after] = runSteps([name]) as unknown as [Sample, Sample]
    console.log(`   ${name.padEnd(26)} +${mb(after.rssMb - base.rssMb)} +${mb(after.heapMb - base.heapMb)}`)
  }
}

async function gatewayCosts(): Promise<void> {
  const benchConfig = path.join(mkdtempSync(path.join(tmpdir(), 'parley-start-memory-')), 'bench.yaml')
  writeFileSync(
    benchConfig,
    [
      'env: production',
      'log: { level: warn }',
      'upstream: { allow_loopback: true }',
      'plugins: ["@parley/identity", "@parley/openai", "@parley/rate-limit"]',
      '',
    ].join('\n'),
  )
  console.log('\n3. parley start from core/dist, idle')
  const runs = Number(process.env.START_MEMORY_RUNS ?? 3)
  try {
    for (const [name, file] of [
      ['config/default.yaml', undefined],
      ['the bench config', benchConfig],
    ] as const) {
      const first: number[] = []
      const again: number[] = []
      let loaded: Record<'first' | 'again', string[]> = { first: [], again: [] }
      for (let run = 0; run < runs; run++) {
        // A new data directory: the first start creates the tables, the second finds them.
        const dataDir = mkdtempSync(path.join(tmpdir(), 'parley-start-memory-'))
        try {
          const listing = run === runs - 1
          const fresh = await startGateway(file, dataDir, listing)
          const restart = await startGateway(file, dataDir, listing)
          first.push(fresh.rssMb)
          again.push(restart.rssMb)
          if (listing) {
            const watched = (packages: string[] = []) => WATCHED.filter(name => packages.includes(name))
            loaded = { first: watched(fresh.packages), again: watched(restart.packages) }
          }
        } finally {
          rmSync(dataDir, { recursive: true, force: true })
        }
      }
      const list = (values: number[]) => values.map(value => value.toFixed(0)).join(', ')
      console.log(`   ${name}: first start (migrates) RSS ${list(first)} MB; restart ${list(again)} MB`)
      console.log(`     watched packages loaded, first start: ${loaded.first.join(', ') || 'none'}`)
      console.log(`     restart: ${loaded.again.join(', ') || 'none'}`)
    }
  } finally {
    rmSync(path.dirname(benchConfig), { recursive: true, force: true })
  }
}

if (process.argv[2] === '--steps') await importSteps(process.argv.slice(3))
else await main()
