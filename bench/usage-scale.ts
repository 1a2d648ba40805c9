/**
 * `npm run bench:usage`: the usage stats and logs at scale (issue 27: stats < 200 ms, a log page
 * < 100 ms, the CSV export streamed at constant memory). Fills N usage rows through the
 * gateway's own writer (`gateway.usage`: the batch writer, the rows and their rollups in one
 * transaction) into a temporary SQLite file and a fresh MariaDB database (dropped afterwards),
 * then times the real routes through `inject()`: the admin stats, a user's own usage, the log
 * list's first page under each filter, deep pages; and exports every row as CSV over a real
 * socket while sampling the process's heap and RSS. Prints a table with PASS/MISS per target and
 * writes bench/results/usage-scale.json; exits 0 whatever the figures.
 *
 * Settings: BENCH_USAGE_ROWS (1000000), BENCH_USAGE_DAYS (90: rows spread evenly up to now),
 * BENCH_USAGE_USERS (2000), BENCH_USAGE_RUNS (7 timed calls per query after one warm-up; the
 * median is reported), BENCH_USAGE_DIALECTS ("sqlite,mysql"), BENCH_USAGE_EXPORT=0 to skip the
 * export, BENCH_MYSQL_URL (mysql://root@127.0.0.1:3306/test: the server the fresh database is
 * made on). BENCH_USAGE_KEEP=1 keeps the seeded rows for the next run instead (to time a change
 * without seeding again): the SQLite file bench/results/usage-scale.db and the MariaDB database
 * `parley_usage_scale`, seeded when empty; drop them by hand.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { createTestGateway, headerAuth, type TestGateway } from '@parley/core/testing'
import { MODELS, random, row } from './usage-rows.js'

const env = process.env
const ROWS = Number(env.BENCH_USAGE_ROWS ?? 1_000_000)
const DAYS = Number(env.BENCH_USAGE_DAYS ?? 90)
const USERS = Number(env.BENCH_USAGE_USERS ?? 2000)
const RUNS = Number(env.BENCH_USAGE_RUNS ?? 7)
const DIALECTS = (env.BENCH_USAGE_DIALECTS ?? 'sqlite,mysql').split(',').map(name => name.trim())
const EXPORT = env.BENCH_USAGE_EXPORT !== '0'
const MYSQL_URL = env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test'
const KEEP = env.BENCH_USAGE_KEEP === '1'
const RESULTS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results', 'usage-scale.json')

const TARGET = { stats: 200, page: 100 }
/** What "flat" means for the export (see `exportAll`). */
const FLAT_MB = 16
/** Rows recorded between flushes: the writer's largest batch (10 × its batch size of 200). */
const CHUNK = 2000
const DAY = 86_400_000

const principals = headerAuth({
  admin: { kind: 'user', userId: '1', role: 'admin', group: 'default', name: 'bench-admin' },
  // The heaviest caller of the seeded rows (user 1 of the skewed draw below).
  heavy: { kind: 'user', userId: '1', role: 'user', group: 'default', name: 'user1' },
  typical: { kind: 'user', userId: '500', role: 'user', group: 'default', name: 'user500' },
})

/** Through `gateway.usage`, as the pipeline reports calls: record a writer's batch, let it write. */
async function seed(gateway: TestGateway): Promise<{ seconds: number; rowsPerSecond: number }> {
  const started = performance.now()
  const next = random(27)
  const plan = { rows: ROWS, users: USERS, start: Date.now() - DAYS * DAY, span: DAYS * DAY }
  for (let n = 0; n < ROWS; n++) {
    gateway.usage.record(row(n, next, plan))
    if ((n + 1) % CHUNK === 0 || n === ROWS - 1) await gateway.usage.flush()
    if ((n + 1) % 200_000 === 0) log(`  seeded ${n + 1} rows (${((performance.now() - started) / 1000).toFixed(0)} s)`)
  }
  const { written, dropped } = gateway.usage.stats
  if (written !== ROWS || dropped !== 0) throw new Error(`the writer wrote ${written} rows and dropped ${dropped}`)
  const seconds = (performance.now() - started) / 1000
  return { seconds: round(seconds), rowsPerSecond: Math.round(ROWS / seconds) }
}

interface Timing {
  readonly name: string
  readonly url: string
  readonly target: number
  /** Wall time of the call, ms. */
  readonly median: number
  readonly min: number
  readonly max: number
  /**
   * CPU time the call cost, ms: this process's (the gateway, and SQLite's work on its threads)
   * plus the MariaDB server's. Much less sensitive than wall time to other load on the machine,
   * and on an idle one about equal to it (each query runs on one core).
   */
  readonly cpuMedian: number
  readonly result: 'PASS' | 'MISS'
  /** The answer's `total` (log list), to show what the query matched. */
  readonly matched?: number
}

/** The MariaDB server's process, to count its CPU time; undefined when it runs elsewhere. */
const databasePid = (() => {
  for (const pid of readdirSync('/proc').filter(name => /^\d+$/.test(name))) {
    try {
      if (/^(mariadbd|mysqld)$/.test(readFileSync(`/proc/${pid}/comm`, 'utf8').trim())) return pid
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return undefined
})()

/** CPU ms of this process, and of the database server's when `dialect` is mysql. */
function cpuNow(dialect: 'sqlite' | 'mysql'): number {
  const own = process.cpuUsage()
  let server = 0
  if (dialect === 'mysql' && databasePid) {
    // utime and stime, fields 14 and 15 of /proc/<pid>/stat (after the parenthesised name), in ticks.
    const fields = readFileSync(`/proc/${databasePid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
    server = ((Number(fields[11]) + Number(fields[12])) * 1000) / 100
  }
  return (own.user + own.system) / 1000 + server
}

/** One warm-up call, then `RUNS` timed ones through the whole HTTP stack (inject). */
async function time(
  gateway: TestGateway,
  dialect: 'sqlite' | 'mysql',
  [name, url, who]: readonly [string, string, string],
  target: number,
): Promise<Timing> {
  let matched: number | undefined
  const once = async () => {
    const cpu = cpuNow(dialect)
    const started = performance.now()
    const response = await gateway.inject({ method: 'GET', url, headers: { 'x-who': who } })
    const elapsed = performance.now() - started
    if (response.statusCode !== 200) throw new Error(`${url} answered ${response.statusCode}: ${response.body}`)
    const spent = cpuNow(dialect) - cpu
    const body = response.json() as { total?: number; items?: unknown[] }
    matched = body.total
    if (body.items && body.items.length === 0) throw new Error(`${url}: an empty page`)
    return [elapsed, spent] as const
  }
  await once()
  const samples: Array<readonly [number, number]> = []
  for (let run = 0; run < RUNS; run++) samples.push(await once())
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] as number
  const walls = samples.map(([wall]) => wall).sort((a, b) => a - b)
  const timing: Timing = {
    name,
    url,
    target,
    median: round(median(walls)),
    min: round(walls[0] as number),
    max: round(walls[walls.length - 1] as number),
    cpuMedian: round(median(samples.map(([, cpu]) => cpu))),
    result: median(walls) < target ? 'PASS' : 'MISS',
    matched,
  }
  log(
    `  ${timing.result} ${name.padEnd(44)} median ${timing.median.toFixed(1).padStart(7)} ms  cpu ${timing.cpuMedian.toFixed(1).padStart(6)} ms  (min ${timing.min.toFixed(1)}, max ${timing.max.toFixed(1)})${matched === undefined ? '' : `  total ${matched}`}`,
  )
  return timing
}

interface ExportFigures {
  readonly rows: number
  readonly megabytes: number
  readonly seconds: number
  /**
   * Growth over the level (after a GC) before the export, at its peak in each tenth of the rows:
   * of the live memory (heap and buffers after a full collection) and of RSS.
   */
  readonly liveMbByTenth: number[]
  readonly rssMbByTenth: number[]
  readonly result: 'PASS' | 'MISS'
}

/**
 * Every row as CSV over a real socket, read and dropped as it comes, sampling this process's
 * memory: RSS every 20 ms, and the live memory after a full collection every 2 s (needs
 * --expose-gc; without it the heap counts garbage not yet collected and says little). Flat:
 * live memory never grows by `FLAT_MB`, and RSS, once the allocators have their working set
 * (the first half), grows by less than that in the second half.
 */
async function exportAll(url: string): Promise<ExportFigures> {
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  const base = process.memoryUsage()
  let bytes = 0
  let lines = 0
  let samples = 0
  const live = Array.from({ length: 10 }, () => 0)
  const rss = Array.from({ length: 10 }, () => 0)
  const sample = (collect = ++samples % 100 === 0) => {
    if (collect) gc?.()
    const memory = process.memoryUsage()
    const tenth = Math.min(9, Math.floor((lines * 10) / ROWS))
    if (collect && gc)
      live[tenth] = Math.max(live[tenth] as number, memory.heapUsed + memory.external - base.heapUsed - base.external)
    rss[tenth] = Math.max(rss[tenth] as number, memory.rss - base.rss)
  }
  const timer = setInterval(() => sample(), 20)
  const started = performance.now()
  await new Promise<void>((resolve, reject) => {
    const request = http.get(`${url}/api/admin/logs/export`, { headers: { 'x-who': 'admin' } }, response => {
      if (response.statusCode !== 200) reject(new Error(`export answered ${response.statusCode}`))
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length
        for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++
      })
      response.on('end', resolve)
      response.on('error', reject)
    })
    request.on('error', reject)
  })
  clearInterval(timer)
  sample(true)
  const seconds = (performance.now() - started) / 1000
  const mb = (value: number) => round(value / 1_048_576)
  const firstHalf = Math.max(...rss.slice(0, 5))
  const secondHalf = Math.max(...rss.slice(5))
  const figures: ExportFigures = {
    rows: lines - 1,
    megabytes: mb(bytes),
    seconds: round(seconds),
    liveMbByTenth: live.map(mb),
    rssMbByTenth: rss.map(mb),
    result:
      lines - 1 === ROWS && Math.max(...live) < FLAT_MB * 1_048_576 && secondHalf - firstHalf < FLAT_MB * 1_048_576
        ? 'PASS'
        : 'MISS',
  }
  log(
    `  ${figures.result} export of ${figures.rows} rows, ${figures.megabytes} MB in ${figures.seconds} s` +
      ` (${Math.round(figures.rows / seconds)} rows/s); growth per tenth of the rows, MB:` +
      `\n       live ${figures.liveMbByTenth.join(' ')}\n       RSS  ${figures.rssMbByTenth.join(' ')}`,
  )
  return figures
}

/** The queries timed: the dashboard, a user's own page, each filter of the log list, deep pages. */
function queries(now: number): {
  stats: Array<[name: string, url: string, who: string, zone: string]>
  pages: Array<[name: string, query: string]>
} {
  const iso = (time: number) => new Date(time).toISOString()
  // Edges off the quarter hours, as a person picks them: the count reads partial buckets too.
  const dayAgo = iso(now - DAY + 7 * 60_000 + 13_000)
  const weekAgo = iso(now - 7 * DAY + 7 * 60_000)
  const middle = `from=${iso(now - 60 * DAY + 333_000)}&to=${iso(now - 30 * DAY - 444_000)}`
  // Page 1000 of 50 on a million rows (and as deep, in proportion, on fewer); the last page but
  // one of the whole table.
  const deep = Math.max(2, Math.round(ROWS / 1000))
  const deepUser = Math.max(2, Math.round(ROWS / 10_000))
  const farPage = Math.max(1, Math.floor(ROWS / 200) - 1)
  return {
    stats: [
      ['admin stats, UTC', '/api/admin/stats', 'admin', 'UTC'],
      ['admin stats, Asia/Shanghai', '/api/admin/stats', 'admin', 'Asia/Shanghai'],
      ['admin stats, America/New_York', '/api/admin/stats', 'admin', 'America/New_York'],
      ['own usage, heaviest user, 30 days', '/api/usage/me', 'heavy', 'Asia/Shanghai'],
      ['own usage, heaviest user, 90 days', '/api/usage/me?days=90', 'heavy', 'Asia/Shanghai'],
      ['own usage, typical user, 30 days', '/api/usage/me', 'typical', 'Asia/Shanghai'],
    ],
    pages: [
      ['page 1, no filter', ''],
      ['page 1, last 24 hours', `?from=${dayAgo}`],
      ['page 1, last 7 days', `?from=${weekAgo}`],
      ['page 1, 60 to 30 days ago', `?${middle}`],
      ['page 1, user=<heaviest id>', '?user=1'],
      ['page 1, user=<typical id>', '?user=500'],
      ['page 1, user=<name>', '?user=user7'],
      ['page 1, ip=<address>', '?ip=192.0.0.7'],
      ['page 1, model=<common>', '?model=gpt-4o-mini'],
      ['page 1, model=<rare>', '?model=gemini-1.5-pro'],
      ['page 1, model, 60 to 30 days ago', `?model=qwen-max&${middle}`],
      ['page 1, channel=<id>', '?channel=1'],
      ['page 1, channel=<name of a deleted one>', '?channel=channel-3'],
      ['page 1, status=success', '?status=success'],
      ['page 1, status=error', '?status=error'],
      ['page 1, status=aborted, last 7 days', `?status=aborted&from=${weekAgo}`],
      ['page 1, endpoint=responses', '?endpoint=responses'],
      ['page 1, endpoint=portal, last 24 hours', `?endpoint=portal&from=${dayAgo}`],
      ['page 1, model+status=error+last 7 days', `?model=deepseek-chat&status=error&from=${weekAgo}`],
      ['page 1, user+model', '?user=1&model=gpt-4o'],
      [`page ${deep} of 50, no filter`, `?page=${deep}`],
      [`page ${farPage} of 200 (the far end), no filter`, `?page=${farPage}&page_size=200`],
      [`page ${deep} of 50, status=success`, `?page=${deep}&status=success`],
      [`page ${deep} of 50, model=<common>`, `?page=${deep}&model=gpt-4o-mini`],
      [`page ${deep} of 50, channel=<id>`, `?page=${deep}&channel=1`],
      [`page ${deep} of 50, 60 to 30 days ago`, `?page=${deep}&${middle}`],
      [`page ${deepUser} of 50, user=<heaviest id>`, `?page=${deepUser}&user=1`],
    ],
  }
}

/** With BENCH_USAGE_KEEP, where the rows stay between runs; otherwise the test gateway's temporary database. */
async function kept(dialect: 'sqlite' | 'mysql'): Promise<Record<string, unknown>> {
  if (!KEEP) return {}
  if (dialect === 'sqlite') return { database: { path: path.join(path.dirname(RESULTS), 'usage-scale.db') } }
  const { createConnection } = await import('mysql2/promise')
  const server = new URL(MYSQL_URL)
  server.pathname = '/'
  const connection = await createConnection({ uri: server.toString() })
  await connection.query('create database if not exists `parley_usage_scale` character set utf8mb4')
  await connection.end()
  server.pathname = '/parley_usage_scale'
  return { database: { url: server.toString() } }
}

async function bench(dialect: 'sqlite' | 'mysql') {
  mkdirSync(path.dirname(RESULTS), { recursive: true })
  const gateway = await createTestGateway({
    plugins: [principals],
    mysqlUrl: dialect === 'mysql' && !KEEP ? MYSQL_URL : undefined,
    config: await kept(dialect),
    listen: true,
  })
  try {
    const connection = gateway.db.em().getConnection()
    const [version] = (await connection.execute(
      dialect === 'sqlite' ? 'select sqlite_version() as v' : 'select version() as v',
    )) as Array<{ v: string }>
    log(`\n${dialect} ${version?.v}: ${ROWS} rows over ${DAYS} days, ${USERS} users, ${MODELS.length} models`)
    const [present] = (await connection.execute('select count(*) as n from usage_logs')) as Array<{ n: unknown }>
    if (Number(present?.n) !== 0 && Number(present?.n) !== ROWS)
      throw new Error(`the kept database holds ${Number(present?.n)} rows, not 0 or ${ROWS}: drop it`)
    const seeded = Number(present?.n) === ROWS ? { seconds: 0, rowsPerSecond: 0, kept: true } : await seed(gateway)
    const [rollups] = (await connection.execute('select count(*) as n from usage_rollups')) as Array<{ n: unknown }>
    log(
      `  seeded in ${seeded.seconds} s (${seeded.rowsPerSecond} rows/s with rollups); ${Number(rollups?.n)} rollup rows`,
    )
    const plan = queries(Date.now())
    const stats: Timing[] = []
    for (const [name, url, who, zone] of plan.stats) {
      await gateway.settings.set('time_zone', zone)
      stats.push(await time(gateway, dialect, [name, url, who], TARGET.stats))
    }
    const pages: Timing[] = []
    for (const [name, query] of plan.pages)
      pages.push(await time(gateway, dialect, [name, `/api/admin/logs${query}`, 'admin'], TARGET.page))
    const exported = EXPORT ? await exportAll(gateway.url as string) : undefined
    return { version: version?.v, seed: { ...seeded, rollupRows: Number(rollups?.n) }, stats, pages, export: exported }
  } finally {
    await gateway.close()
  }
}

function log(line: string): void {
  process.stdout.write(`${line}\n`)
}

function round(value: number): number {
  return Math.round(value * 10) / 10
}

const machine = () => ({ cpus: os.cpus().length, model: os.cpus()[0]?.model, loadavg: os.loadavg().map(round) })
const results: Record<string, unknown> = {
  at: new Date().toISOString(),
  node: process.version,
  rows: ROWS,
  days: DAYS,
  users: USERS,
  runs: RUNS,
  targets: { statsMs: TARGET.stats, pageMs: TARGET.page, exportFlatMb: FLAT_MB },
  machineBefore: machine(),
}
if (!(globalThis as { gc?: unknown }).gc) log('(no --expose-gc: the export baseline is taken without a collection)')
for (const dialect of DIALECTS) {
  if (dialect !== 'sqlite' && dialect !== 'mysql') throw new Error(`BENCH_USAGE_DIALECTS: unknown "${dialect}"`)
  results[dialect] = await bench(dialect)
}
results.machineAfter = machine()
mkdirSync(path.dirname(RESULTS), { recursive: true })
writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`)
log(`\nload average before ${JSON.stringify(results.machineBefore)}, after ${JSON.stringify(results.machineAfter)}`)
log(`written to ${path.relative(process.cwd(), RESULTS)}`)
