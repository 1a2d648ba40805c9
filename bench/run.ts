/**
 * `npm run bench`: the mock upstream, the bare proxy and Parley, each in a child process of its
 * own; Parley provisioned through its HTTP API; then autocannon against each target in turn
 * (mock direct, bare proxy, Parley) for JSON and SSE at each concurrency, with a warm-up before
 * every measurement. Prints the table and the PASS/MISS of each target and writes the figures
 * to bench/results/latest.json. Exits 0 whether the targets are met or not; it fails only when
 * the bench itself cannot run or a target answered wrongly.
 *
 * Environment: BENCH_DURATION (s, default 10), BENCH_WARMUP (s, default 2), BENCH_CONNECTIONS
 * (default "1,64"), BENCH_TARGETS (default "mock,proxy,parley"), BENCH_FORMATS (default
 * "json,sse"), BENCH_PROFILE=1 (run Parley under --cpu-prof and summarise the profile),
 * BENCH_OUT (default bench/results/latest.json).
 */
import { randomBytes } from 'node:crypto'
import { readdirSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { measure } from './load.js'
import { summarize } from './profile-summary.js'
import { provision } from './provision.js'
import { checks, machine, table, verdicts, writeResults, type Format, type Row, type Target } from './report.js'
import { requestBody, verify } from './requests.js'
import { startServer, type RunningServer } from './servers.js'

const HERE = path.dirname(fileURLToPath(import.meta.url))

function list<T extends string>(name: string, fallback: string, allowed?: readonly T[]): T[] {
  const values = (process.env[name] ?? fallback).split(',').map(value => value.trim()).filter(Boolean)
  for (const value of values) if (allowed && !allowed.includes(value as T)) throw new Error(`${name}: unknown value ${value} (one of ${allowed.join(', ')})`)
  return values as T[]
}

function seconds(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number of seconds`)
  return value
}

const settings = {
  durationS: seconds('BENCH_DURATION', 10),
  warmupS: seconds('BENCH_WARMUP', 2),
  connections: list('BENCH_CONNECTIONS', '1,64').map(Number),
  targets: list<Target>('BENCH_TARGETS', 'mock,proxy,parley', ['mock', 'proxy', 'parley']),
  formats: list<Format>('BENCH_FORMATS', 'json,sse', ['json', 'sse']),
  profile: process.env.BENCH_PROFILE === '1',
  out: path.resolve(process.env.BENCH_OUT ?? path.join(HERE, 'results', 'latest.json')),
}
if (settings.connections.some(c => !Number.isInteger(c) || c < 1)) throw new Error('BENCH_CONNECTIONS: positive integers, comma-separated')
const profileDir = path.join(HERE, 'results', 'profiles', new Date().toISOString().replace(/[:.]/g, '-'))
const admin = { username: 'bench-admin', password: randomBytes(18).toString('base64url') }

// Anything else busy on the machine skews every figure: say so rather than hide it.
const loadBefore = os.loadavg()[0] as number
if (loadBefore > 0.5) console.warn(`bench: the 1-minute load average is ${loadBefore.toFixed(2)} before starting; other work on this machine will skew the figures`)

const servers: RunningServer[] = []
// Parley first, the mock last: requests still queued in Parley when the load stops must not
// meet a closed upstream (they would be logged as failures).
const stopAll = async () => {
  for (const server of servers.splice(0).reverse()) await server.stop()
}
try {
  const childEnv = { NODE_ENV: 'production' }
  const mock = await startServer('mock upstream', './mock-upstream.ts', { env: childEnv })
  servers.push(mock)
  const proxy = await startServer('bare proxy', './bare-proxy.ts', { args: [mock.url], env: childEnv })
  servers.push(proxy)
  const parley = await startServer('Parley', './parley-server.ts', {
    env: { ...childEnv, BENCH_ADMIN_USERNAME: admin.username, BENCH_ADMIN_PASSWORD: admin.password },
    execArgv: settings.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
  })
  servers.push(parley)
  const { apiToken } = await provision(parley.url, mock.url, admin)

  const headers = { 'content-type': 'application/json', authorization: `Bearer ${apiToken}` }
  const urls: Record<Target, string> = { mock: `${mock.url}/v1/chat/completions`, proxy: `${proxy.url}/v1/chat/completions`, parley: `${parley.url}/v1/chat/completions` }
  for (const target of settings.targets) for (const format of settings.formats) await verify(urls[target], headers, format)

  const cells = settings.targets.length * settings.formats.length * settings.connections.length
  console.log(`bench: ${cells} cells of ${settings.warmupS} s warm-up + ${settings.durationS} s; mock pid ${mock.pid}, proxy pid ${proxy.pid}, Parley pid ${parley.pid}`)
  const rows: Row[] = []
  for (const target of settings.targets) {
    for (const format of settings.formats) {
      for (const connections of settings.connections) {
        const measured = await measure({ url: urls[target], headers, body: requestBody(format), connections, durationS: settings.durationS, warmupS: settings.warmupS })
        const row: Row = { target, format, connections, ...measured }
        rows.push(row)
        const failed = row.non2xx + row.errors + row.timeouts
        console.log(`  ${target.padEnd(6)} ${format.padEnd(4)} c=${String(connections).padEnd(3)} ${row.requestsPerSec.toFixed(0).padStart(6)} req/s  p50 ${row.p50Ms.toFixed(3)} ms  p99 ${row.p99Ms.toFixed(3)} ms${failed ? `  FAILED ${failed}` : ''}`)
        if (failed > 0) throw new Error(`${target} ${format} c=${connections}: ${failed} requests failed; the figures would be meaningless`)
      }
    }
  }
  await stopAll()

  const low = Math.min(...settings.connections)
  const high = Math.max(...settings.connections)
  const results = checks(rows, high, low)
  console.log(`\n${table(rows)}\n\n${verdicts(results)}`)
  const load = { before: loadBefore, after: os.loadavg()[0] as number }
  writeResults(settings.out, { date: new Date().toISOString(), machine: machine(), load_average_1m: load, settings: { ...settings, out: undefined }, rows, checks: results })
  console.log(`\nresults written to ${path.relative(process.cwd(), settings.out)}`)
  if (settings.profile) {
    for (const file of readdirSync(profileDir).filter(name => name.endsWith('.cpuprofile'))) console.log(`\n${summarize(path.join(profileDir, file))}`)
  }
} finally {
  await stopAll()
}
