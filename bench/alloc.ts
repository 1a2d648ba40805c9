/**
 * `npm run bench:alloc`: what one request costs a target in memory, in figures that do not
 * depend on how busy the machine is (times do). The mock and the target start as in the bench;
 * a fixed number of requests warms the target up, then a fixed number is sent at a fixed
 * concurrency while the target counts, in its own process (bench/heap.ts), the bytes it
 * allocated, the bytes its young collections had to keep (promoted), and its collections.
 *
 * Settings: ALLOC_TARGET (`parley`, `proxy` or `fastify`), ALLOC_FORMAT (`json` or `sse`),
 * ALLOC_CONNECTIONS (64), ALLOC_WARMUP (20000 requests), ALLOC_REQUESTS (20000), ALLOC_ROUNDS
 * (3: measured windows one after the other, each printed), ALLOC_SAMPLE=1 to name the sites
 * that allocate most (a slower run: V8's sampling heap profiler; `live` for what is still
 * alive at the end of each window; `survivors` for what young collections kept, dead or
 * alive), ALLOC_RESOURCES=1 to count
 * promises, ticks and timers per request (an async hook: byte figures of that run are spoiled).
 * ALLOC_CODE=dist runs Parley from its build (`npm run build`). ALLOC_CALLGRIND=1 runs the
 * target under valgrind's callgrind, instrumented only during the measured windows, and prints
 * the instructions per request (all threads: a count, not a time, so other load does not
 * change it). Slow: use a few thousand requests, and ALLOC_CODE=dist. ALLOC_CPU_PROFILE=<file>
 * writes a V8 CPU profile of the last measured window there (`<file>` gets the round number).
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Pool } from 'undici'
import type { HeapFigures } from './heap.js'
import { provision } from './provision.js'
import { requestBody, verify } from './requests.js'
import { PARLEY_ENV, PARLEY_NODE_FLAGS } from './entries.js'
import { startServer, type RunningServer } from './servers.js'

const env = process.env
const target = env.ALLOC_TARGET === 'proxy' || env.ALLOC_TARGET === 'fastify' ? env.ALLOC_TARGET : 'parley'
const format = env.ALLOC_FORMAT === 'sse' ? 'sse' : 'json'
const connections = Number(env.ALLOC_CONNECTIONS ?? 64)
const warmup = Number(env.ALLOC_WARMUP ?? 20_000)
const requests = Number(env.ALLOC_REQUESTS ?? 20_000)
const rounds = Number(env.ALLOC_ROUNDS ?? 3)
const options = {
  sample:
    env.ALLOC_SAMPLE === 'live' || env.ALLOC_SAMPLE === 'survivors'
      ? (env.ALLOC_SAMPLE as 'live' | 'survivors')
      : env.ALLOC_SAMPLE === '1'
        ? ('all' as const)
        : undefined,
  resources: env.ALLOC_RESOURCES === '1',
}
const callgrind = env.ALLOC_CALLGRIND === '1'
const cgDir = path.join(tmpdir(), `parley-callgrind-${process.pid}`)
const execArgv =
  env.ALLOC_CODE === 'dist' ? process.execArgv.filter(flag => flag !== '--conditions=parley-source') : process.execArgv
const admin = { username: 'bench-admin', password: randomBytes(18).toString('base64url') }

/** `count` requests, `connections` at a time, each answer read to its end; throws on any non-200. */
async function send(pool: Pool, path: string, headers: Record<string, string>, body: string, count: number) {
  let left = count
  const worker = async () => {
    while (left > 0) {
      left--
      const answer = await pool.request({ method: 'POST', path, headers, body })
      const text = await answer.body.text()
      if (answer.statusCode !== 200) throw new Error(`HTTP ${answer.statusCode}: ${text.slice(0, 200)}`)
    }
  }
  await Promise.all(Array.from({ length: connections }, worker))
}

function kb(bytes: number): string {
  return (bytes / 1024).toFixed(2)
}

function line(figures: HeapFigures): string {
  const per = (value: number) => kb(value / requests)
  const resources = figures.resources
    ? `  per request: ${Object.entries(figures.resources)
        .sort((a, b) => b[1] - a[1])
        .map(([type, n]) => `${type} ${(n / requests).toFixed(2)}`)
        .join(', ')}`
    : ''
  return `allocated ${per(figures.allocatedBytes)} KB/req, promoted ${(figures.promotedBytes / requests).toFixed(0)} B/req, kept young ${(figures.survivedBytes / requests).toFixed(0)} B/req, young collections ${figures.scavenges} (one per ${(requests / Math.max(1, figures.scavenges)).toFixed(0)} requests), full ${figures.fullCollections} (${(figures.youngCostUs / 1000).toFixed(0)} + ${(figures.fullCostUs / 1000).toFixed(0)} ms); cpu ${(figures.cpuUs / requests).toFixed(1)} µs/req (main thread ${(figures.mainThreadCpuUs / requests).toFixed(1)})${resources}`
}

/** A launcher that runs Node under callgrind, its instrumentation off until asked. */
function callgrindNode(): string {
  rmSync(cgDir, { recursive: true, force: true })
  execFileSync('mkdir', ['-p', cgDir])
  const launcher = path.join(cgDir, 'node')
  writeFileSync(
    launcher,
    `#!/bin/sh\nexec valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=${cgDir}/out.%p -q ${process.execPath} "$@"\n`,
    { mode: 0o755 },
  )
  return launcher
}

/** Instructions counted since the last zeroing, read from a fresh dump. */
function instructions(pid: number): number {
  execFileSync('callgrind_control', ['-d', String(pid)], { stdio: 'ignore' })
  const dumps = readdirSync(cgDir).filter(name => name.startsWith(`out.${pid}.`))
  const latest = dumps.sort((a, b) => Number(a.split('.').pop()) - Number(b.split('.').pop())).at(-1) as string
  const totals = /^(?:totals|summary): (\d+)/m.exec(readFileSync(path.join(cgDir, latest), 'utf8'))
  return Number(totals?.[1] ?? NaN)
}

const started: RunningServer[] = []
try {
  const childEnv = { NODE_ENV: 'production' }
  const mock = await startServer('mock upstream', './mock-upstream.ts', { env: childEnv })
  started.push(mock)
  const server =
    target === 'proxy'
      ? await startServer('bare proxy', './bare-proxy.ts', { args: [mock.url], env: childEnv })
      : target === 'fastify'
        ? await startServer('Fastify proxy', './fastify-proxy.ts', { args: [mock.url], env: childEnv })
        : await startServer('Parley', './parley-server.ts', {
            env: {
              ...childEnv,
              ...PARLEY_ENV,
              BENCH_ADMIN_USERNAME: admin.username,
              BENCH_ADMIN_PASSWORD: admin.password,
            },
            execArgv: [
              ...execArgv,
              ...PARLEY_NODE_FLAGS,
              ...(env.BENCH_PARLEY_FLAGS ?? '').split(/\s+/).filter(Boolean),
            ],
            ...(callgrind ? { execPath: callgrindNode(), readyTimeoutMs: 900_000 } : {}),
          })
  started.push(server)
  const token = target === 'parley' ? (await provision(server.url, mock.url, admin)).apiToken : 'sk-bench'
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` }
  await verify(`${server.url}/v1/chat/completions`, headers, format)
  const pool = new Pool(server.url, { connections })
  const body = requestBody(format)
  await send(pool, '/v1/chat/completions', headers, body, warmup)
  console.log(`${target} ${format} c=${connections}: ${warmup} requests of warm-up, then ${rounds} × ${requests}`)
  for (let round = 0; round < rounds; round++) {
    const cpuProfile = env.ALLOC_CPU_PROFILE
    if (cpuProfile) await server.startProfile()
    await server.startHeap(options)
    if (callgrind) {
      execFileSync('callgrind_control', ['-z', String(server.pid)], { stdio: 'ignore' })
      execFileSync('callgrind_control', ['-i', 'on', String(server.pid)], { stdio: 'ignore' })
    }
    await send(pool, '/v1/chat/completions', headers, body, requests)
    const counted = callgrind ? instructions(server.pid) : 0
    if (callgrind) execFileSync('callgrind_control', ['-i', 'off', String(server.pid)], { stdio: 'ignore' })
    const figures = await server.stopHeap()
    if (cpuProfile) await server.stopProfile(`${cpuProfile}.${round + 1}.cpuprofile`)
    console.log(line(figures) + (callgrind ? `, ${(counted / requests / 1000).toFixed(1)} k instructions/req` : ''))
    if (figures.sites && figures.sampledBytes) {
      console.log(`sampled ${kb(figures.sampledBytes / requests)} KB/req; by site (bytes/req):`)
      for (const [site, bytes] of figures.sites) console.log(`${(bytes / requests).toFixed(0).padStart(7)}  ${site}`)
    }
  }
  await pool.close()
} finally {
  for (const server of started.splice(0).reverse()) await server.stop()
}
