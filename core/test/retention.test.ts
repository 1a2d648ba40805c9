import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import {
  definePlugin,
  RETENTION_JOB,
  type RetentionContext,
  type RetentionReport,
  type UsageRecord,
} from '@parley/core'
import { createTestGateway, missingService, testServices, type TestGateway } from '@parley/core/testing'
import { RETENTION_BATCH_SIZE, RETENTION_CRON } from '../src/retention/job.js'
import { UsageLog, UsageUserActivity } from '../src/usage/entities.js'
import { usageRetentionTask } from '../src/usage/retention.js'

const DAY = 86_400_000
const QUARTER = 15 * 60_000

const dialects = [
  { name: 'sqlite', skip: false as string | false, mysqlUrl: undefined as string | undefined },
  { name: 'mysql', skip: missingService('mysql'), mysqlUrl: testServices.mysqlUrl },
]
const drivers = [
  { name: 'in-process', skip: false as string | false, redisUrl: undefined as string | undefined },
  { name: 'bullmq', skip: missingService('redis'), redisUrl: testServices.redisUrl },
]

const record = (
  requestId: string,
  createdAt: Date,
  model = 'gpt-4o-mini',
  userId: number | null = null,
): UsageRecord => ({
  createdAt,
  requestId,
  ip: '198.51.100.1',
  principalKind: userId === null ? 'guest' : 'user',
  userId,
  model,
  promptTokens: 3,
  completionTokens: 4,
  estimated: false,
  status: 'success',
  latencyMs: 100,
  endpoint: 'chat.completions',
  stream: false,
})

/** A plugin's task that only records what the job handed it. */
function recordingPlugin(seen: RetentionContext[]) {
  return definePlugin({
    id: 'retention-fixtures',
    version: '1.0.0',
    setup(ctx) {
      ctx.retention.register('recorded', {
        async prune(context) {
          seen.push(context)
          return 0
        },
      })
    },
  })
}

/** The next `retention.finished` report of this gateway. */
function nextReport(gateway: TestGateway): Promise<RetentionReport> {
  return new Promise(resolve => {
    const off = gateway.events.on('retention.finished', report => {
      off()
      resolve(report)
    })
  })
}

async function runRetention(gateway: TestGateway): Promise<RetentionReport> {
  const report = nextReport(gateway)
  await gateway.jobs.enqueue(RETENTION_JOB, {})
  return report
}

async function remaining(gateway: TestGateway): Promise<string[]> {
  return (await gateway.db.em().find(UsageLog, {}, { orderBy: { id: 'asc' } })).map(row => row.requestId)
}

/** The rollups must still equal the rows, bucket by bucket, after any deletion. */
async function checkRollups(t: Test, gateway: TestGateway): Promise<void> {
  const rows = await gateway.db.em().find(UsageLog, {})
  const expected = new Map<string, number>()
  for (const row of rows) {
    const key = `${Math.floor(row.createdAt.getTime() / QUARTER)}/${row.model}`
    expected.set(key, (expected.get(key) ?? 0) + 1)
  }
  const rollups = (await gateway.db
    .em()
    .getConnection()
    .execute('select bucket, model, calls from usage_rollups')) as Array<{
    bucket: number
    model: string
    calls: number
  }>
  t.same(
    new Map(rollups.map(row => [`${row.bucket}/${row.model}`, Number(row.calls)])),
    expected,
    'rollups equal the remaining rows',
  )
  const lastCalls = new Map<number, number>()
  for (const row of rows)
    if (row.userId != null) lastCalls.set(row.userId, Math.max(lastCalls.get(row.userId) ?? 0, row.createdAt.getTime()))
  const activity = await gateway.db.em().find(UsageUserActivity, {})
  t.same(
    new Map(activity.map(row => [row.userId, row.lastCallAt.getTime()])),
    lastCalls,
    'last calls of the users who still have rows',
  )
}

for (const dialect of dialects) {
  for (const driver of drivers) {
    t.test(
      `${dialect.name} with ${driver.name} jobs: the daily retention job`,
      { skip: dialect.skip || driver.skip },
      async t => {
        const seen: RetentionContext[] = []
        const gateway = await createTestGateway({
          plugins: [recordingPlugin(seen)],
          mysqlUrl: dialect.mysqlUrl,
          redisUrl: driver.redisUrl,
        })
        t.teardown(gateway.close)
        t.equal(gateway.jobs.kind, driver.name)
        await gateway.settings.set('log_retention_days', 30)
        const now = Date.now()
        const old: UsageRecord[] = []
        // More than two batches of old rows, spread from 31 days to a year back.
        // Users 1-5 called long ago; 1 and 2 called again recently.
        for (let n = 0; n < 2 * RETENTION_BATCH_SIZE + 321; n++)
          old.push(
            record(
              `old-${n}`,
              new Date(now - 31 * DAY - n * 2 * 3_600_000),
              n % 3 ? 'a' : 'b',
              n % 2 ? 1 + (n % 5) : null,
            ),
          )
        old.push(record('old-edge', new Date(now - 30 * DAY - 3_600_000), 'a', 3))
        const young = [
          record('young-edge', new Date(now - 30 * DAY + 3_600_000), 'a', 1),
          record('young-1', new Date(now - 3 * DAY), 'a', 2),
          record('young-2', new Date(now)),
        ]
        for (const row of [...old, ...young]) gateway.usage.record(row)
        await gateway.usage.flush()

        const first = await runRetention(gateway)
        t.same(
          await remaining(gateway),
          ['young-edge', 'young-1', 'young-2'],
          'exactly the rows older than 30 days are gone',
        )
        t.match(first, { deleted: { 'usage-logs': old.length, 'retention-fixtures/recorded': 0 }, failed: [] })
        t.ok(Math.abs(Date.parse(first.before) - (now - 30 * DAY)) < 60_000, 'before = now - log_retention_days')
        await checkRollups(t, gateway)

        t.equal(seen.length, 1, 'every registered task ran')
        const [context] = seen
        t.ok(context && context.batchSize >= 1000 && context.batchSize <= 5000, 'batches of 1000 to 5000 rows')
        t.equal(context?.before.toISOString(), first.before)
        t.ok(context && context.now.getTime() - context.before.getTime() === 30 * DAY)
        t.notOk(context?.signal.aborted)

        const second = await runRetention(gateway)
        t.match(second, { deleted: { 'usage-logs': 0 }, failed: [] }, 'a second run finds nothing to do')
        t.same(await remaining(gateway), ['young-edge', 'young-1', 'young-2'])
      },
    )
  }

  t.test(`${dialect.name}: usage rows go with their quarter hour of rollups`, { skip: dialect.skip }, async t => {
    const gateway = await createTestGateway({ mysqlUrl: dialect.mysqlUrl })
    t.teardown(gateway.close)
    const before = new Date('2025-03-01T10:07:30Z')
    const cutoff = Date.parse('2025-03-01T10:00:00Z')
    const rows = [
      record('gone-1', new Date(cutoff - DAY)),
      record('gone-2', new Date(cutoff - 1000)),
      record('kept-cutoff', new Date(cutoff)),
      record('kept-before', new Date(before.getTime() - 1000)),
      record('kept-after', new Date(before.getTime() + 1000)),
    ]
    for (const row of rows) gateway.usage.record(row)
    await gateway.usage.flush()
    const task = usageRetentionTask(() => gateway.db.em())
    const context = {
      now: new Date(before.getTime() + 30 * DAY),
      before,
      batchSize: 1,
      signal: new AbortController().signal,
    }
    t.equal(await task.prune(context), 2)
    t.same(
      await remaining(gateway),
      ['kept-cutoff', 'kept-before', 'kept-after'],
      'the cut-off moves back to the start of its quarter hour',
    )
    await checkRollups(t, gateway)
    t.equal(await task.prune(context), 0, 'idempotent')
  })
}

t.test('a failing task does not stop the others, and the run is retried', async t => {
  let calls = 0
  const flaky = definePlugin({
    id: 'flaky-retention',
    version: '1.0.0',
    setup(ctx) {
      ctx.retention.register('flaky', {
        async prune() {
          calls++
          if (calls === 1) throw new Error('database hiccup')
          return 0
        },
      })
    },
  })
  const gateway = await createTestGateway({ plugins: [flaky] })
  t.teardown(gateway.close)
  gateway.usage.record(record('old', new Date(Date.now() - 400 * DAY)))
  await gateway.usage.flush()
  const reports: RetentionReport[] = []
  const both = new Promise<void>(resolve => {
    gateway.events.on('retention.finished', report => {
      reports.push(report)
      if (reports.length === 2) resolve()
    })
  })
  await gateway.jobs.enqueue(RETENTION_JOB, {})
  await both
  t.match(reports[0], { failed: ['flaky-retention/flaky'], deleted: { 'usage-logs': 1 } }, 'the others ran')
  t.match(
    reports[1],
    { failed: [], deleted: { 'usage-logs': 0, 'flaky-retention/flaky': 0 } },
    'the retry succeeds and finds the rest done',
  )
})

t.test('shutdown stops a running retention run between batches', async t => {
  let started!: () => void
  const running = new Promise<void>(resolve => (started = resolve))
  let sawAbort = false
  const slow = definePlugin({
    id: 'slow-retention',
    version: '1.0.0',
    setup(ctx) {
      ctx.retention.register('slow', {
        async prune({ signal }) {
          started()
          await new Promise<void>(resolve => {
            const timer = setTimeout(resolve, 20_000)
            signal.addEventListener('abort', () => {
              clearTimeout(timer)
              resolve()
            })
          })
          sawAbort = signal.aborted
          return 0
        },
      })
    },
  })
  const gateway = await createTestGateway({ plugins: [slow] })
  await gateway.jobs.enqueue(RETENTION_JOB, {})
  await running
  const stopping = Date.now()
  await gateway.close()
  t.ok(sawAbort, 'the task saw the abort')
  t.ok(Date.now() - stopping < 5000, 'the gateway did not wait for the whole run')
})

t.test(
  'with Redis, instances of one deployment share a single daily schedule',
  { skip: missingService('redis') },
  async t => {
    const first = await createTestGateway({ redisUrl: testServices.redisUrl })
    t.teardown(first.close)
    const second = await createTestGateway({ sharedWith: first })
    t.teardown(second.close)
    const connection = new Redis(testServices.redisUrl as string)
    const queue = new Queue(RETENTION_JOB, { connection, prefix: `${first.config.redis.prefix}jobs` })
    t.teardown(async () => {
      await queue.close()
      await connection.quit()
    })
    const schedulers = await queue.getJobSchedulers()
    t.equal(schedulers.length, 1, 'one schedule, so one run per day for the deployment')
    t.match(schedulers[0], { key: RETENTION_JOB, pattern: RETENTION_CRON, tz: 'UTC' })
  },
)
