/**
 * `npm run bench`: the mock upstream, the bare proxy, the Fastify proxy and Parley, each in a
 * child process of its own, the servers under test pinned to one core and the load generator
 * and the mock to the others (placement.ts); Parley provisioned through its HTTP API; then
 * autocannon against each target in turn (mock direct, bare proxy, Fastify proxy, Parley) for
 * JSON and SSE at each concurrency, with a warm-up before every measurement, and after the
 * lowest concurrency's cell a sequential time-to-first-byte probe (ttfb.ts). Prints the table,
 * a PASS/MISS line per goal of the issue (report.ts) and the info lines, and writes the figures
 * to bench/results/latest.json. Exits 0 whether the targets are met or not; it fails only when
 * the bench itself cannot run or a target answers wrongly. Settings: see settings.ts.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createTempMysqlDatabase, deleteRedisKeys, type TempDatabase } from '@parley/core/testing'
import { cpuUse, sample } from './cpu.js'
import { measure } from './load.js'
import { summarize } from './profile-summary.js'
import { provision, usageRowsDropped } from './provision.js'
import {
  beforeRatios,
  checks,
  cpuRatios,
  fastifyRatios,
  infoLines,
  machine,
  medians,
  memoryChecks,
  table,
  verdicts,
  writeResults,
  type Format,
  type Row,
  type Subject,
  type Target,
} from './report.js'
import { requestBody, verify } from './requests.js'
import { beforeLauncher, launchers, PARLEY_ENV, PARLEY_NODE_FLAGS, type Launch } from './entries.js'
import { pin, placeRunner, rssMb } from './placement.js'
import { readSettings, RESULTS_DIR } from './settings.js'
import { startServer, type RunningServer } from './servers.js'
import { probeTtfb, type Ttfb } from './ttfb.js'

const settings = readSettings()
const profileDir = path.join(RESULTS_DIR, 'profiles', new Date().toISOString().replace(/[:.]/g, '-'))
const admin = { username: 'bench-admin', password: randomBytes(18).toString('base64url') }

// Anything else busy on the machine skews every figure: say so rather than hide it.
const loadBefore = os.loadavg()[0] as number
if (loadBefore > 0.5)
  console.warn(
    `bench: the 1-minute load average is ${loadBefore.toFixed(2)} before starting; other work on this machine will skew the figures`,
  )

function cpuText(row: Row): string {
  if (!row.cpu) return ''
  const used = Object.entries(row.cpu).filter(
    ([name, cores]) => name === 'loadgen' || name === 'other' || cores >= 0.01,
  )
  return `  cpu ${used.map(([name, cores]) => `${name} ${cores.toFixed(2)}`).join(', ')}`
}

/** The TTFB probe on one target and format, with the cores other programs used meanwhile. */
async function ttfbOf(url: string, headers: Record<string, string>, format: Format, pids: number[]): Promise<Ttfb> {
  const before = sample(pids)
  const ttfb = await probeTtfb({
    url,
    headers,
    body: requestBody(format),
    format,
    warmup: settings.ttfbWarmup,
    requests: settings.ttfbRequests,
  })
  return { ...ttfb, otherCores: cpuUse(before, sample(pids), new Map(pids.map(pid => [pid, String(pid)])))?.other }
}

const placement = placeRunner(settings.pin)
const started: RunningServer[] = []
// Parley first, the mock last: requests still queued in Parley when the load stops must not
// meet a closed upstream (they would be logged as failures).
const redisPrefix = `parley-bench-${randomBytes(4).toString('hex')}:`
// With BENCH_PARLEY_DATABASE each Parley gets a database of its own, dropped at the end.
const databases: TempDatabase[] = []
const stopAll = async () => {
  for (const server of started.splice(0).reverse()) await server.stop()
  if (settings.parleyRedis) await deleteRedisKeys(settings.parleyRedis, redisPrefix)
  for (const database of databases.splice(0)) await database.drop()
}
try {
  const childEnv = { NODE_ENV: 'production' }
  const launch = await launchers(settings.parleyCode)
  const mock = await startServer('mock upstream', launch['mock-upstream'].file, {
    env: childEnv,
    execArgv: launch['mock-upstream'].execArgv,
  })
  started.push(mock)
  pin(placement, mock.pid, 'mock')
  const proxy = await startServer('bare proxy', launch['bare-proxy'].file, {
    args: [mock.url],
    env: childEnv,
    execArgv: launch['bare-proxy'].execArgv,
  })
  started.push(proxy)
  pin(placement, proxy.pid, 'target')
  const fastify = await startServer('Fastify proxy', launch['fastify-proxy'].file, {
    args: [mock.url],
    env: childEnv,
    execArgv: launch['fastify-proxy'].execArgv,
  })
  started.push(fastify)
  pin(placement, fastify.pid, 'target')
  // Parley, and with BENCH_BEFORE another checkout's Parley, started and run the same way.
  // Each with keys of its own in Redis (under the run's prefix, which is deleted at the end):
  // they must not share counters or take each other's jobs.
  const startParley = async (name: string, entry: Launch, prefix: string, flags: readonly string[]) => {
    const database = settings.parleyDatabase ? await createTempMysqlDatabase(settings.parleyDatabase) : undefined
    if (database) databases.push(database)
    const server = await startServer(name, entry.file, {
      env: {
        ...childEnv,
        BENCH_ADMIN_USERNAME: admin.username,
        BENCH_ADMIN_PASSWORD: admin.password,
        BENCH_LOG_LEVEL: settings.parleyLog,
        ...(settings.parleyRedis ? { BENCH_REDIS_URL: settings.parleyRedis, BENCH_REDIS_PREFIX: prefix } : {}),
        ...(database ? { BENCH_DATABASE_URL: database.url } : {}),
        ...PARLEY_ENV,
      },
      execArgv: [...entry.execArgv, ...PARLEY_NODE_FLAGS, ...flags],
    })
    started.push(server)
    pin(placement, server.pid, 'target')
    return server
  }
  const parley = await startParley('Parley', launch['parley-server'], redisPrefix, settings.parleyFlags)
  const before = settings.before
    ? await startParley(
        `Parley before (${settings.before})`,
        await beforeLauncher(settings.before),
        `${redisPrefix}before:`,
        settings.beforeFlags,
      )
    : undefined
  const servers: Partial<Record<Target, RunningServer>> = { mock, proxy, fastify, parley, ...(before && { before }) }
  const { apiToken } = await provision(parley.url, mock.url, admin)
  const beforeToken = before ? (await provision(before.url, mock.url, admin)).apiToken : undefined
  // Resident memory before any load (Parley after its start and set-up, nothing else).
  const idleRssMb = Object.fromEntries(Object.entries(servers).map(([name, server]) => [name, rssMb(server.pid)]))

  const headersOf = (target: Target) => ({
    'content-type': 'application/json',
    authorization: `Bearer ${target === 'before' ? beforeToken : apiToken}`,
  })
  const serverOf = (target: Target): RunningServer => {
    const server = servers[target]
    if (!server) throw new Error(`${target}: no such server in this run (BENCH_BEFORE unset?)`)
    return server
  }
  const url = (target: Target) => `${serverOf(target).url}/v1/chat/completions`
  for (const target of settings.targets)
    for (const format of settings.formats) await verify(url(target), headersOf(target), format)

  const cells = settings.targets.length * settings.formats.length * settings.connections.length
  console.log(
    `bench: ${settings.rounds} round(s) of ${cells} cells, ${settings.warmupS} s warm-up + ${settings.durationS} s each; pids: mock ${mock.pid}, proxy ${proxy.pid}, Fastify proxy ${fastify.pid}, Parley ${parley.pid}${before ? `, Parley before ${before.pid}` : ''}`,
  )
  console.log(
    placement.targetCore === undefined
      ? 'bench: nothing pinned (BENCH_PIN=0, one core, or no taskset): every process may run on any core'
      : `bench: servers under test on core ${placement.targetCore}; load generator and mock on ${placement.otherCores}`,
  )
  console.log(
    `bench: idle RSS ${Object.entries(idleRssMb)
      .map(([name, mb]) => `${name} ${mb.toFixed(0)} MB`)
      .join(', ')}`,
  )
  const pids = new Map(Object.entries(servers).map(([name, server]) => [server.pid, name]))
  const rounds: Row[] = []
  const profiles: string[] = []
  const [lowest, highest] = [Math.min(...settings.connections), Math.max(...settings.connections)]
  for (let round = 1; round <= settings.rounds; round++) {
    if (settings.rounds > 1) console.log(`round ${round}`)
    for (const target of settings.targets) {
      for (const format of settings.formats) {
        for (const connections of settings.connections) {
          const load = {
            url: url(target),
            headers: headersOf(target),
            body: requestBody(format),
            connections,
            durationS: settings.durationS,
            warmupS: settings.warmupS,
          }
          const profiled = settings.profile.includes(target) ? serverOf(target) : undefined
          let before = sample([...pids.keys()])
          const droppedBefore = target === 'parley' ? await usageRowsDropped(parley.url) : 0
          const measured = await measure(load, async () => {
            await profiled?.startProfile()
            before = sample([...pids.keys()])
          })
          const after = sample([...pids.keys()])
          const ttfb =
            connections === lowest && settings.ttfbRequests > 0
              ? await ttfbOf(url(target), headersOf(target), format, [...pids.keys()])
              : undefined
          const dropped = target === 'parley' ? (await usageRowsDropped(parley.url)) - droppedBefore : 0
          if (profiled) {
            mkdirSync(profileDir, { recursive: true })
            const file = path.join(profileDir, `${target}-${format}-c${connections}-r${round}.cpuprofile`)
            await profiled.stopProfile(file)
            profiles.push(file)
          }
          const row: Row = {
            target,
            format,
            connections,
            ...measured,
            cpu: cpuUse(before, after, pids),
            rssMb: rssMb(serverOf(target).pid),
            ttfb,
          }
          rounds.push(row)
          const failed = row.non2xx + row.errors + row.timeouts
          console.log(
            `  ${target.padEnd(7)} ${format.padEnd(4)} c=${String(connections).padEnd(3)} ${row.requestsPerSec.toFixed(0).padStart(6)} req/s  p50 ${(row.p50Ms * 1000).toFixed(0)} µs  p99 ${(row.p99Ms * 1000).toFixed(0)} µs  RSS ${row.rssMb?.toFixed(0)} MB${cpuText(row)}`,
          )
          if (ttfb)
            console.log(
              `  ${target.padEnd(7)} ${format.padEnd(4)} TTFB  p50 ${(ttfb.p50Ms * 1000).toFixed(0)} µs  p99 ${(ttfb.p99Ms * 1000).toFixed(0)} µs  (${ttfb.requests} requests one at a time)`,
            )
          if (failed > 0)
            throw new Error(
              `${target} ${format} c=${connections}: ${failed} requests failed; the figures would be meaningless`,
            )
          if (dropped > 0)
            throw new Error(
              `${target} ${format} c=${connections}: ${dropped} usage rows were dropped (the usage log did not keep up); the figures would flatter Parley`,
            )
        }
      }
    }
  }
  await stopAll()

  const rows = medians(rounds)
  // Under load: the highest of any Parley cell of any round, not a median.
  const loadedRssOf = (subject: Subject) =>
    Math.max(...rounds.filter(row => row.target === subject).map(row => row.rssMb ?? Number.NaN))
  const loadedRssMb = loadedRssOf('parley')
  const options = { high: highest, low: lowest, redis: settings.parleyRedis !== undefined }
  const results = [
    ...checks(rows, options),
    ...memoryChecks(idleRssMb.parley ?? Number.NaN, loadedRssMb, settings.parleyCode),
    ...(before
      ? [
          ...checks(rows, options, 'before'),
          ...memoryChecks(idleRssMb.before ?? Number.NaN, loadedRssOf('before'), settings.parleyCode, 'before'),
        ]
      : []),
  ]
  const efficiency = cpuRatios(rows)
  const vsFastify = fastifyRatios(rows, highest)
  const vsBefore = beforeRatios(rows)
  console.log(
    `\n${settings.rounds > 1 ? `medians of ${settings.rounds} rounds:\n` : ''}${table(rows)}\n\n${verdicts(results)}\n${infoLines(results, efficiency, vsFastify, vsBefore)}`,
  )
  const loadAverage = { before: loadBefore, after: os.loadavg()[0] as number }
  writeResults(settings.out, {
    date: new Date().toISOString(),
    machine: machine(),
    load_average_1m: loadAverage,
    settings: { ...settings, out: undefined },
    rows,
    checks: results,
    cpu_ratios: efficiency,
    parley_over_fastify: vsFastify,
    parley_over_before: vsBefore,
    idle_rss_mb: idleRssMb,
    parley_loaded_rss_mb: loadedRssMb,
    pinned: placement,
    rounds,
  })
  console.log(`\nresults written to ${path.relative(process.cwd(), settings.out)}`)
  for (const file of profiles) console.log(`\n${summarize(file)}`)
} finally {
  await stopAll()
}
