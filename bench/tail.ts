/**
 * `npm run bench:tail`: where a target's slowest requests go. One target (Parley by default)
 * and the mock start as in the bench; one autocannon run, of which the warm-up (20 s by
 * default, so V8 has optimised everything) does not count. The client times every request;
 * the target records its garbage collections and each request's server-side time
 * (`BENCH_TAIL_FILE`, bench/child.ts). Each of the slowest 1% (the requests at or above the
 * p99, which set it) is then put in one class:
 *
 * - a collection in the target overlapped it;
 * - otherwise the target itself took at least half of it (server-side time);
 * - otherwise the time went outside the target: the load generator, the mock, the kernel.
 *
 * Settings: TAIL_TARGET (parley or proxy), TAIL_FORMAT (json or sse), TAIL_CONNECTIONS (1),
 * TAIL_WARMUP (20) and TAIL_DURATION (10) in seconds; BENCH_PARLEY_FLAGS as for the bench.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import autocannon from 'autocannon'
import type { TailRecord } from './child.js'
import { provision } from './provision.js'
import { requestBody } from './requests.js'
import { PARLEY_ENV, PARLEY_NODE_FLAGS } from './entries.js'
import { startServer, type RunningServer } from './servers.js'

const target = process.env.TAIL_TARGET ?? 'parley'
const format = process.env.TAIL_FORMAT ?? 'json'
if (target !== 'parley' && target !== 'proxy') throw new Error('TAIL_TARGET: parley or proxy')
if (format !== 'json' && format !== 'sse') throw new Error('TAIL_FORMAT: json or sse')
const connections = Number(process.env.TAIL_CONNECTIONS ?? 1)
const warmupS = Number(process.env.TAIL_WARMUP ?? 20)
const durationS = Number(process.env.TAIL_DURATION ?? 10)
if (![connections, warmupS, durationS].every(n => Number.isFinite(n) && n >= 0) || connections < 1 || durationS <= 0)
  throw new Error('TAIL_CONNECTIONS, TAIL_WARMUP, TAIL_DURATION: positive numbers')

const dir = mkdtempSync(path.join(tmpdir(), 'parley-tail-'))
const tailFile = path.join(dir, 'tail.json')
const admin = { username: 'bench-admin', password: randomBytes(18).toString('base64url') }
const env = { NODE_ENV: 'production' }
const started: RunningServer[] = []
try {
  const mock = await startServer('mock upstream', './mock-upstream.ts', { env })
  started.push(mock)
  const flags = (process.env.BENCH_PARLEY_FLAGS ?? '').split(/\s+/).filter(Boolean)
  const server =
    target === 'parley'
      ? await startServer('Parley', './parley-server.ts', {
          env: {
            ...env,
            ...PARLEY_ENV,
            BENCH_TAIL_FILE: tailFile,
            BENCH_ADMIN_USERNAME: admin.username,
            BENCH_ADMIN_PASSWORD: admin.password,
          },
          execArgv: [...process.execArgv, ...PARLEY_NODE_FLAGS, ...flags],
        })
      : await startServer('bare proxy', './bare-proxy.ts', {
          args: [mock.url],
          env: { ...env, BENCH_TAIL_FILE: tailFile },
        })
  started.push(server)
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (target === 'parley') headers.authorization = `Bearer ${(await provision(server.url, mock.url, admin)).apiToken}`

  // [end (epoch ms), latency (ms)] of each 2xx answer after the warm-up.
  const answers: Array<[number, number]> = []
  const countFrom = performance.now() + warmupS * 1000
  await new Promise<void>((resolve, reject) => {
    const run = autocannon(
      {
        url: `${server.url}/v1/chat/completions`,
        method: 'POST',
        headers,
        body: requestBody(format),
        connections,
        duration: warmupS + durationS,
        timeout: 30,
      },
      error => (error ? reject(error) : resolve()),
    )
    run.on('response', (_client, status, _bytes, ms) => {
      const now = performance.now()
      if (now >= countFrom && status >= 200 && status < 300) answers.push([performance.timeOrigin + now, ms])
    })
  })
  for (const running of started.splice(0).reverse()) await running.stop()
  report(answers, JSON.parse(readFileSync(tailFile, 'utf8')) as TailRecord)
} finally {
  for (const running of started.splice(0).reverse()) await running.stop()
  rmSync(dir, { recursive: true, force: true })
}

function report(answers: Array<[number, number]>, tail: TailRecord): void {
  if (answers.length === 0) throw new Error('no answers were measured')
  const latencies = answers.map(([, ms]) => ms).sort((a, b) => a - b)
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)] as number
  const from = (answers[0] as [number, number])[0] - (answers[0] as [number, number])[1]
  const to = (answers.at(-1) as [number, number])[0]
  const seconds = (to - from) / 1000
  const young = tail.gc.filter(([start, , kind]) => kind === 1 && start >= from && start <= to)
  const pauses = young.map(([, ms]) => ms)
  const p99 = at(0.99)
  const classes = { collection: 0, inside: 0, outside: 0 }
  for (const [end, ms] of answers) {
    if (ms < p99) continue
    const start = end - ms
    if (tail.gc.some(([gcStart, gcMs]) => gcStart < end && gcStart + gcMs > start)) classes.collection++
    else if (
      tail.requests.some(([serverStart, serverMs]) => serverStart >= start && serverStart < end && serverMs >= ms / 2)
    )
      classes.inside++
    else classes.outside++
  }
  const slowest = classes.collection + classes.inside + classes.outside
  const share = (n: number) => `${n} (${((100 * n) / slowest).toFixed(0)}%)`
  const ms = (n: number) => `${n.toFixed(3)} ms`
  console.log(
    `${target} ${format} c=${connections}: ${answers.length} answers in ${seconds.toFixed(1)} s (${(answers.length / seconds).toFixed(0)} req/s) after ${warmupS} s of warm-up`,
  )
  console.log(
    `latency: p50 ${ms(at(0.5))}, p90 ${ms(at(0.9))}, p99 ${ms(p99)}, p99.9 ${ms(at(0.999))}, max ${ms(at(1))}`,
  )
  if (pauses.length > 0) {
    const total = pauses.reduce((sum, pause) => sum + pause, 0)
    console.log(
      `young collections: ${pauses.length}, one per ${(answers.length / pauses.length).toFixed(0)} answers, pause mean ${ms(total / pauses.length)}, max ${ms(Math.max(...pauses))}`,
    )
  }
  console.log(
    `the slowest 1% (${slowest} answers at or above the p99): during a collection ${share(classes.collection)}, inside the target ${share(classes.inside)}, outside it ${share(classes.outside)}`,
  )
}
