/**
 * `npm run bench`: the mock upstream, the bare proxy and Parley, each in a child process of its
 * own; Parley provisioned through its HTTP API; then autocannon against each target in turn
 * (mock direct, bare proxy, Parley) for JSON and SSE at each concurrency, with a warm-up before
 * every measurement. Prints the table and the PASS/MISS of each target and writes the figures
 * to bench/results/latest.json. Exits 0 whether the targets are met or not; it fails only when
 * the bench itself cannot run or a target answers wrongly. Settings: see settings.ts.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { cpuUse, sample } from './cpu.js'
import { measure } from './load.js'
import { summarize } from './profile-summary.js'
import { provision, usageRowsDropped } from './provision.js'
import {
  checks,
  cpuRatioLines,
  cpuRatios,
  machine,
  medians,
  table,
  verdicts,
  writeResults,
  type Row,
  type Target,
} from './report.js'
import { requestBody, verify } from './requests.js'
import { readSettings, RESULTS_DIR } from './settings.js'
import { startServer, type RunningServer } from './servers.js'

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

const started: RunningServer[] = []
// Parley first, the mock last: requests still queued in Parley when the load stops must not
// meet a closed upstream (they would be logged as failures).
const stopAll = async () => {
  for (const server of started.splice(0).reverse()) await server.stop()
}
try {
  const childEnv = { NODE_ENV: 'production' }
  const mock = await startServer('mock upstream', './mock-upstream.ts', { env: childEnv })
  started.push(mock)
  const proxy = await startServer('bare proxy', './bare-proxy.ts', { args: [mock.url], env: childEnv })
  started.push(proxy)
  // Without the `parley-source` condition the workspace packages resolve to their dist/ builds.
  const inherited =
    settings.parleyCode === 'dist'
      ? process.execArgv.filter(flag => flag !== '--conditions=parley-source')
      : process.execArgv
  const parley = await startServer('Parley', './parley-server.ts', {
    env: {
      ...childEnv,
      BENCH_ADMIN_USERNAME: admin.username,
      BENCH_ADMIN_PASSWORD: admin.password,
      BENCH_LOG_LEVEL: settings.parleyLog,
    },
    execArgv: [...inherited, ...settings.parleyFlags],
  })
  started.push(parley)
  const servers: Record<Target, RunningServer> = { mock, proxy, parley }
  const { apiToken } = await provision(parley.url, mock.url, admin)

  const headers = { 'content-type': 'application/json', authorization: `Bearer ${apiToken}` }
  const url = (target: Target) => `${servers[target].url}/v1/chat/completions`
  for (const target of settings.targets)
    for (const format of settings.formats) await verify(url(target), headers, format)

  const cells = settings.targets.length * settings.formats.length * settings.connections.length
  console.log(
    `bench: ${settings.rounds} round(s) of ${cells} cells, ${settings.warmupS} s warm-up + ${settings.durationS} s each; pids: mock ${mock.pid}, proxy ${proxy.pid}, Parley ${parley.pid}`,
  )
  const pids = new Map(Object.entries(servers).map(([name, server]) => [server.pid, name]))
  const rounds: Row[] = []
  const profiles: string[] = []
  for (let round = 1; round <= settings.rounds; round++) {
    if (settings.rounds > 1) console.log(`round ${round}`)
    for (const target of settings.targets) {
      for (const format of settings.formats) {
        for (const connections of settings.connections) {
          const load = {
            url: url(target),
            headers,
            body: requestBody(format),
            connections,
            durationS: settings.durationS,
            warmupS: settings.warmupS,
          }
          const profiled = settings.profile.includes(target) ? servers[target] : undefined
          let before = sample([...pids.keys()])
          const droppedBefore = target === 'parley' ? await usageRowsDropped(parley.url) : 0
          const measured = await measure(load, async () => {
            await profiled?.startProfile()
            before = sample([...pids.keys()])
          })
          const after = sample([...pids.keys()])
          const dropped = target === 'parley' ? (await usageRowsDropped(parley.url)) - droppedBefore : 0
          if (profiled) {
            mkdirSync(profileDir, { recursive: true })
            const file = path.join(profileDir, `${target}-${format}-c${connections}-r${round}.cpuprofile`)
            await profiled.stopProfile(file)
            profiles.push(file)
          }
          const row: Row = { target, format, connections, ...measured, cpu: cpuUse(before, after, pids) }
          rounds.push(row)
          const failed = row.non2xx + row.errors + row.timeouts
          console.log(
            `  ${target.padEnd(6)} ${format.padEnd(4)} c=${String(connections).padEnd(3)} ${row.requestsPerSec.toFixed(0).padStart(6)} req/s  p50 ${row.p50Ms.toFixed(3)} ms  p99 ${row.p99Ms.toFixed(3)} ms${cpuText(row)}`,
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
  const results = checks(rows, Math.max(...settings.connections), Math.min(...settings.connections))
  const efficiency = cpuRatios(rows)
  console.log(
    `\n${settings.rounds > 1 ? `medians of ${settings.rounds} rounds:\n` : ''}${table(rows)}\n\n${verdicts(results)}\n${cpuRatioLines(efficiency)}`,
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
    rounds,
  })
  console.log(`\nresults written to ${path.relative(process.cwd(), settings.out)}`)
  for (const file of profiles) console.log(`\n${summarize(file)}`)
} finally {
  await stopAll()
}
