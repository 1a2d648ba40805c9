/**
 * Stats benchmark (the goal: `GET /api/admin/stats` under 200 ms on a million log rows, SQLite
 * and MariaDB). Seeds the rows through the production write path (UsageWriter: rows plus rollup
 * increments per batch) into a temporary SQLite file and a temporary MariaDB database, then
 * times the stats call through HTTP (inject, admin principal) in several time zones, and a few
 * admin log queries for comparison. Prints the figures; exits 0 whatever they are.
 *
 * Run: TS_NODE_TRANSPILE_ONLY=1 node --conditions=parley-source \
 *        --import ./node_modules/@tapjs/typescript/dist/esm/import.mjs bench/stats.ts
 *
 * - BENCH_STATS_ROWS: rows to seed (default 1000000).
 * - BENCH_STATS_DAYS: the rows are spread evenly over this many days up to now (default 35, so
 *   the month window holds most of them whatever today's date).
 * - BENCH_STATS_USERS: distinct users (default 5000); one row in five is a guest.
 * - BENCH_STATS_RUNS: timed calls per time zone after one cold call (default 30).
 * - BENCH_STATS_DIALECTS: "sqlite,mysql" (default both).
 * - BENCH_MYSQL_URL: server for the temporary database (default mysql://root@127.0.0.1:3306).
 */
import { performance } from 'node:perf_hooks'
import { definePlugin, type Logger, type Principal, type UsageRecord } from '@parley/core'
import { UsageWriter } from '../core/src/usage/writer.js'
import { createTestGateway, type TestGateway } from '@parley/core/testing'
import { pino } from 'pino'

const ROWS = Number(process.env.BENCH_STATS_ROWS ?? 1_000_000)
const DAYS = Number(process.env.BENCH_STATS_DAYS ?? 35)
const USERS = Number(process.env.BENCH_STATS_USERS ?? 5000)
const RUNS = Number(process.env.BENCH_STATS_RUNS ?? 30)
const DIALECTS = (process.env.BENCH_STATS_DIALECTS ?? 'sqlite,mysql').split(',').map(name => name.trim())
const MYSQL_URL = process.env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306'
const SEED_BATCH = 1000
const ZONES = ['UTC', 'Asia/Shanghai', 'Asia/Kolkata', 'America/New_York']
const MODELS = [
  'gpt-4o-mini',
  'gpt-4o',
  'deepseek-chat',
  'deepseek-reasoner',
  'qwen-max',
  'qwen-plus',
  'glm-4',
  'moonshot-v1-8k',
  'claude-3-5-sonnet',
  'doubao-pro',
  'coze-bot-helpdesk',
  'o3-mini',
]

const admin = definePlugin({
  id: 'bench-admin',
  version: '1.0.0',
  setup(ctx) {
    ctx.auth.register('bench', {
      async authenticate(): Promise<Principal> {
        return { kind: 'user', userId: '1', role: 'admin', group: 'default', name: 'bench' }
      },
    })
  },
})

/** mulberry32: the same rows on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let x = Math.imul(state ^ (state >>> 15), 1 | state)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296
  }
}

async function seed(gateway: TestGateway): Promise<number> {
  const started = performance.now()
  const writer = new UsageWriter({
    em: () => gateway.db.em(),
    log: pino({ level: 'silent' }) as unknown as Logger,
    batchSize: SEED_BATCH,
    maxBuffered: SEED_BATCH,
    flushIntervalMs: 3_600_000,
  })
  const next = random(42)
  const now = Date.now()
  const span = DAYS * 86_400_000
  for (let n = 0; n < ROWS; n++) {
    const user = next() < 0.2 ? null : 1 + Math.floor(next() ** 2 * USERS)
    const record: UsageRecord = {
      createdAt: new Date(now - span + Math.floor((n / ROWS) * span)),
      requestId: `bench-${n}`,
      ip: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
      principalKind: user === null ? 'guest' : 'user',
      userId: user,
      username: user === null ? null : `user${user}`,
      model: MODELS[Math.floor(next() ** 1.5 * MODELS.length)] as string,
      channelId: 1 + (n % 4),
      channelName: `channel-${1 + (n % 4)}`,
      promptTokens: 20 + Math.floor(next() * 2000),
      completionTokens: Math.floor(next() * 1500),
      estimated: false,
      status: next() < 0.03 ? 'error' : 'success',
      latencyMs: 200 + Math.floor(next() * 5000),
      ttfbMs: 100,
      endpoint: 'chat.completions',
      stream: true,
    }
    writer.record(record)
    if ((n + 1) % SEED_BATCH === 0) await writer.flush()
    if ((n + 1) % 100_000 === 0)
      process.stdout.write(`  seeded ${n + 1} rows (${((performance.now() - started) / 1000).toFixed(0)} s)\n`)
  }
  await writer.close()
  return performance.now() - started
}

async function time(
  gateway: TestGateway,
  url: string,
  runs: number,
): Promise<{ cold: number; median: number; p95: number; max: number }> {
  const once = async () => {
    const started = performance.now()
    const response = await gateway.inject({ method: 'GET', url })
    const elapsed = performance.now() - started
    if (response.statusCode !== 200)
      throw new Error(`${url} answered ${response.statusCode}: ${response.body.slice(0, 200)}`)
    return elapsed
  }
  const cold = await once()
  const samples: number[] = []
  for (let run = 0; run < runs; run++) samples.push(await once())
  samples.sort((a, b) => a - b)
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] as number
  return { cold, median: at(0.5), p95: at(0.95), max: samples[samples.length - 1] as number }
}

const format = (figures: { cold: number; median: number; p95: number; max: number }) =>
  `cold ${figures.cold.toFixed(1).padStart(7)} ms   median ${figures.median.toFixed(1).padStart(6)} ms   p95 ${figures.p95.toFixed(1).padStart(6)} ms   max ${figures.max.toFixed(1).padStart(6)} ms`

for (const dialect of DIALECTS) {
  if (dialect !== 'sqlite' && dialect !== 'mysql') throw new Error(`BENCH_STATS_DIALECTS: unknown dialect "${dialect}"`)
  const gateway = await createTestGateway({ plugins: [admin], mysqlUrl: dialect === 'mysql' ? MYSQL_URL : undefined })
  try {
    const [version] = (await gateway.db
      .em()
      .getConnection()
      .execute(dialect === 'sqlite' ? 'select sqlite_version() as v' : 'select version() as v')) as Array<{ v: string }>
    console.log(
      `\n${dialect} ${version?.v ?? ''}: seeding ${ROWS} rows over ${DAYS} days, ${USERS} users, ${MODELS.length} models`,
    )
    const seedMs = await seed(gateway)
    const [rollups] = (await gateway.db
      .em()
      .getConnection()
      .execute('select count(*) as n from usage_rollups')) as Array<{ n: number | string }>
    console.log(
      `  seeded in ${(seedMs / 1000).toFixed(1)} s (${Math.round(ROWS / (seedMs / 1000))} rows/s with rollups); ${Number(rollups?.n)} rollup rows`,
    )
    for (const zone of ZONES) {
      await gateway.settings.set('time_zone', zone)
      const figures = await time(gateway, '/api/admin/stats', RUNS)
      console.log(`  GET /api/admin/stats  ${zone.padEnd(17)} ${format(figures)}`)
    }
    const stats = (await gateway.inject({ method: 'GET', url: '/api/admin/stats' })).json()
    console.log(
      `  answer: calls ${JSON.stringify(stats.calls)}, active_users ${stats.active_users}, tokens ${JSON.stringify(stats.tokens)}`,
    )
    const lastDay = new Date(Date.now() - 86_400_000).toISOString()
    for (const query of [
      '',
      '?user=4242',
      '?model=qwen-max',
      `?status=error&from=${lastDay}`,
      '?ip=10.1.2.3',
      '?page=100&page_size=200',
    ]) {
      const figures = await time(gateway, `/api/admin/logs${query}`, Math.min(RUNS, 10))
      console.log(`  GET /api/admin/logs${query.padEnd(48)} ${format(figures)}`)
    }
  } finally {
    await gateway.close()
  }
}
