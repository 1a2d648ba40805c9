// One contract for both job drivers: the in-process runner and BullMQ on a real Redis.
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Queue } from 'bullmq'
import { CronExpressionParser } from 'cron-parser'
import { Redis } from 'ioredis'
import { pino } from 'pino'
import t from 'tap'
import { BullMqJobQueue } from '../src/jobs/bullmq.js'
import { createJobQueue, InProcessJobQueue, type JobQueue, type JobRun } from '../src/jobs/index.js'
import type { Logger } from '../src/logger.js'
import { missingService, testServices } from '../src/testing/services.js'

/** The type of a subtest's `t` (tap does not export it with its plugins applied). */
type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

interface Driver {
  readonly name: string
  readonly skip: string | false
  /** A fresh, empty queue; closed (and its Redis keys deleted) when the test ends. */
  open(t: Tap, logger?: Logger): JobQueue
}

const silent: Logger = pino({ level: 'silent' })
const noop = async (): Promise<void> => undefined

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await sleep(10)
  }
}

/** Polls an async condition, for states the queue reaches a little after a handler returns. */
async function eventually(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await sleep(20)
  }
}

function captureLogs(): { logger: Logger; entries: () => Array<Record<string, unknown>> } {
  const lines: string[] = []
  const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) })
  return { logger, entries: () => lines.map(line => JSON.parse(line) as Record<string, unknown>) }
}

function contract(driver: Driver): void {
  t.test(`${driver.name}: jobs contract`, { skip: driver.skip }, async t => {
    t.test('an enqueued job runs exactly once with its data', async t => {
      const queue = driver.open(t)
      const runs: JobRun[] = []
      queue.define({ name: 'contract.echo', handler: async run => void runs.push(run) })
      await queue.start()
      const id = await queue.enqueue('contract.echo', { text: 'hello', n: 1 })
      await waitFor(() => runs.length > 0)
      await sleep(300) // room for a second run to show up
      t.equal(runs.length, 1)
      t.match(runs[0], { id, name: 'contract.echo', attempt: 1 })
      t.same(runs[0]?.data, { text: 'hello', n: 1 })
    })

    t.test('a job enqueued before start runs once the queue starts', async t => {
      const queue = driver.open(t)
      const runs: unknown[] = []
      queue.define({ name: 'contract.early', handler: async run => void runs.push(run.data) })
      await queue.enqueue('contract.early', { early: true })
      await sleep(100)
      t.equal(runs.length, 0, 'nothing runs before start')
      await queue.start()
      await waitFor(() => runs.length > 0)
      t.same(runs, [{ early: true }])
    })

    t.test('a failing job is retried with growing backoff, stops after its attempts, logs no data', async t => {
      const { logger, entries } = captureLogs()
      const queue = driver.open(t, logger)
      const attempts: Array<{ id: string; attempt: number; at: number }> = []
      queue.define({
        name: 'contract.flaky',
        attempts: 3,
        backoffMs: 200,
        async handler(run) {
          attempts.push({ id: run.id, attempt: run.attempt, at: Date.now() })
          throw new Error('upstream said no')
        },
      })
      await queue.start()
      const id = await queue.enqueue('contract.flaky', { apiKey: 'sk-secret-value' })
      await waitFor(() => attempts.length >= 3)
      await sleep(900) // a fourth attempt would come 800 ms after the third
      t.same(
        attempts.map(a => a.attempt),
        [1, 2, 3],
      )
      t.ok(
        attempts.every(a => a.id === id),
        'every attempt has the job id',
      )
      const [first, second, third] = attempts.map(a => a.at) as [number, number, number]
      t.ok(second - first >= 195, `first retry after ~200 ms (${second - first})`)
      t.ok(third - second >= 395, `second retry after ~400 ms (${third - second})`)
      t.ok(third - second > second - first, 'the delay grows')
      const failures = entries().filter(entry => entry.level === 50)
      t.equal(failures.length, 1, 'one error line, after the last attempt')
      t.match(failures[0], { job: 'contract.flaky', jobId: id, attempts: 3, error: 'upstream said no' })
      t.notMatch(JSON.stringify(entries()), /sk-secret-value/, 'job data never reaches the log')
    })

    t.test('a job that succeeds on retry is not run again', async t => {
      const queue = driver.open(t)
      const attempts: number[] = []
      queue.define({
        name: 'contract.second-time',
        backoffMs: 50,
        async handler(run) {
          attempts.push(run.attempt)
          if (run.attempt === 1) throw new Error('not yet')
        },
      })
      await queue.start()
      await queue.enqueue('contract.second-time', {})
      await waitFor(() => attempts.length >= 2)
      await sleep(400)
      t.same(attempts, [1, 2])
    })

    t.test('a cron job runs every tick', async t => {
      const queue = driver.open(t)
      const ticks: number[] = []
      queue.define({
        name: 'contract.tick',
        cron: '* * * * * *',
        async handler(run) {
          t.same(run.data, {})
          ticks.push(Date.now())
        },
      })
      await queue.start()
      await waitFor(() => ticks.length >= 3, 6000)
      const gaps = ticks.slice(1).map((at, i) => at - (ticks[i] ?? 0))
      t.ok(
        gaps.every(gap => gap >= 500),
        `one run per second (gaps ${gaps.join(', ')} ms)`,
      )
    })

    t.test('close waits for a running job, then refuses new work', async t => {
      const queue = driver.open(t)
      let started = false
      let finished = false
      queue.define({
        name: 'contract.slow',
        async handler() {
          started = true
          await sleep(300)
          finished = true
        },
      })
      await queue.start()
      await queue.enqueue('contract.slow', {})
      await waitFor(() => started)
      const closing = Date.now()
      await queue.close()
      t.ok(finished, 'close resolved after the running job finished')
      t.ok(Date.now() - closing >= 200, 'close waited for the handler')
      await t.rejects(queue.enqueue('contract.slow', {}), { code: 'PARLEY_ERR_JOB_CLOSED' })
    })

    t.test('mistakes are coded errors', async t => {
      const queue = driver.open(t)
      const invalid = { code: 'PARLEY_ERR_JOB_INVALID' }
      queue.define({ name: 'contract.once', handler: noop })
      t.throws(() => queue.define({ name: 'contract.once', handler: noop }), { code: 'PARLEY_ERR_JOB_DUPLICATE' })
      await t.rejects(queue.enqueue('contract.missing', {}), { code: 'PARLEY_ERR_JOB_UNKNOWN' })
      t.throws(() => queue.define({ name: 'Contract.Upper', handler: noop }), invalid)
      t.throws(() => queue.define({ name: 'no-dot', handler: noop }), invalid)
      t.throws(() => queue.define({ name: 'contract.zero', attempts: 0, handler: noop }), invalid)
      t.throws(() => queue.define({ name: 'contract.cron', cron: '61 * * * *', handler: noop }), invalid)
      t.throws(() => queue.define({ name: 'contract.cron', cron: '* * * *', handler: noop }), invalid)
      t.throws(
        () => queue.define({ name: 'contract.cron', cron: '0 3 * * *', timezone: 'Mars/Olympus', handler: noop }),
        invalid,
      )
      await t.rejects(queue.enqueue('contract.once', {}, { delayMs: -1 }), invalid)
      await queue.start()
      t.throws(() => queue.define({ name: 'contract.late', handler: noop }), { code: 'PARLEY_ERR_JOB_STARTED' })
    })

    t.test('a jobId is queued once until its run finishes', async t => {
      const queue = driver.open(t)
      const runs: Array<{ id: string; data: unknown }> = []
      queue.define({ name: 'contract.dedupe', handler: async run => void runs.push({ id: run.id, data: run.data }) })
      const first = await queue.enqueue('contract.dedupe', { n: 1 }, { jobId: 'user-42' })
      t.equal(await queue.enqueue('contract.dedupe', { n: 2 }, { jobId: 'user-42' }), first, 'same id while queued')
      const other = await queue.enqueue('contract.dedupe', { n: 3 }, { jobId: 'user-43' })
      t.not(other, first)
      await queue.start()
      await waitFor(() => runs.length >= 2)
      await sleep(300)
      t.equal(runs.length, 2, 'user-42 ran once, user-43 once')
      t.same(runs.find(run => run.id === first)?.data, { n: 1 }, 'the first enqueue wins')
      t.same(runs.find(run => run.id === other)?.data, { n: 3 })
      const again = await queue.enqueue('contract.dedupe', { n: 4 }, { jobId: 'user-42' })
      t.not(again, first, 'a finished jobId can be queued again')
      await waitFor(() => runs.some(run => run.id === again))
    })

    t.test('the overview counts runs per state, shows the last finished run and the next cron tick', async t => {
      const queue = driver.open(t)
      let release = (): void => undefined
      const gate = new Promise<void>(resolve => (release = resolve))
      let started = 0
      queue.define({ name: 'contract.gated', handler: async () => void ((started += 1), await gate) })
      queue.define({
        name: 'contract.report',
        attempts: 1,
        async handler(run) {
          await sleep(5) // distinct finish times
          if ((run.data as { fail?: boolean }).fail) throw new Error('report failed')
        },
      })
      queue.define({ name: 'contract.nightly', cron: '0 3 * * *', timezone: 'Asia/Shanghai', handler: noop })
      await queue.enqueue('contract.report', {})
      const before = await queue.overview()
      t.match(before[0], {
        name: 'contract.gated',
        cron: null,
        timezone: null,
        counts: { waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 },
        last_run: null,
        next_run_at: null,
      })
      t.same(
        before[1]?.counts,
        { waiting: 1, active: 0, delayed: 0, completed: 0, failed: 0 },
        'queued before start: waiting',
      )
      try {
        await queue.start()
        await queue.enqueue('contract.gated', {})
        await waitFor(() => started === 1)
        await queue.enqueue('contract.gated', {})
        await queue.enqueue('contract.gated', {}, { delayMs: 60_000 })
        const failedId = await queue.enqueue('contract.report', { fail: true })
        const report = async () => (await queue.overview()).find(entry => entry.name === 'contract.report')
        await eventually(async () => (await report())?.counts.failed === 1)

        const overview = await queue.overview()
        t.same(
          overview.map(entry => entry.name),
          ['contract.gated', 'contract.report', 'contract.nightly'],
          'one entry per job, in definition order',
        )
        const [gated, reported, nightly] = overview
        t.same(gated?.counts, { waiting: 1, active: 1, delayed: 1, completed: 0, failed: 0 })
        t.same(reported?.counts, { waiting: 0, active: 0, delayed: 0, completed: 1, failed: 1 })
        t.match(reported?.last_run, {
          id: failedId,
          name: 'contract.report',
          state: 'failed',
          attempts: 1,
          error: 'report failed',
        })
        t.ok(reported?.last_run?.finished_at, 'the last run has finished')
        t.notOk(reported?.last_run && 'data' in reported.last_run, 'no job data in the view')
        const tick = CronExpressionParser.parse('0 3 * * *', { tz: 'Asia/Shanghai' }).next().toISOString()
        t.match(nightly, { cron: '0 3 * * *', timezone: 'Asia/Shanghai', next_run_at: tick, last_run: null })
        t.same(
          nightly?.counts,
          { waiting: 0, active: 0, delayed: 1, completed: 0, failed: 0 },
          'the pending tick counts as delayed',
        )
      } finally {
        release()
      }
    })

    t.test('runs are listed newest first, paged, with the failure message and never the data', async t => {
      const queue = driver.open(t)
      queue.define({
        name: 'contract.history',
        attempts: 1,
        async handler(run) {
          await sleep(5) // distinct finish times
          const { fail } = run.data as { fail?: string }
          if (fail) throw new Error(fail)
        },
      })
      await queue.start()
      const ids: string[] = []
      const long = `boom: ${'x'.repeat(600)}`
      for (const data of [
        { secret: 'sk-private-1' },
        { fail: long },
        { secret: 'sk-private-2' },
        { fail: 'second failure' },
      ]) {
        ids.push(await queue.enqueue('contract.history', data))
        await eventually(
          async () =>
            (await queue.runs('contract.history', { state: 'all', page: 1, pageSize: 10 })).total === ids.length &&
            (await queue.overview())[0]?.counts.active === 0 &&
            (await queue.overview())[0]?.counts.waiting === 0,
        )
      }
      const [ok1, fail1, ok2, fail2] = ids as [string, string, string, string]
      const all = await queue.runs('contract.history', { state: 'all', page: 1, pageSize: 10 })
      t.equal(all.total, 4)
      t.same(
        all.items.map(run => run.id),
        [fail2, ok2, fail1, ok1],
        'newest first',
      )
      t.same(
        all.items.map(run => run.state),
        ['failed', 'completed', 'failed', 'completed'],
      )
      t.match(all.items[0], { name: 'contract.history', attempts: 1, error: 'second failure' })
      const cut = all.items[2]?.error ?? ''
      t.ok(cut.startsWith('boom: xxx') && cut.length <= 500, `a long message is cut (${cut.length} chars)`)
      t.equal(all.items[1]?.error, null, 'a completed run has no error')
      for (const run of all.items) {
        t.ok(
          !Number.isNaN(Date.parse(run.created_at)) && run.started_at !== null && run.finished_at !== null,
          'times are set',
        )
        t.ok(Date.parse(run.finished_at ?? '') >= Date.parse(run.started_at ?? ''), 'finished after it started')
      }
      t.notMatch(JSON.stringify(all), /sk-private|secret/, 'job data never reaches the view')

      const first = await queue.runs('contract.history', { state: 'all', page: 1, pageSize: 3 })
      const second = await queue.runs('contract.history', { state: 'all', page: 2, pageSize: 3 })
      t.same([first.items.length, second.items.length, first.total, second.total], [3, 1, 4, 4], 'paged')
      t.same(
        second.items.map(run => run.id),
        [ok1],
      )
      t.same(
        (await queue.runs('contract.history', { state: 'failed', page: 1, pageSize: 10 })).items.map(run => run.id),
        [fail2, fail1],
      )
      t.same(
        (await queue.runs('contract.history', { state: 'completed', page: 1, pageSize: 10 })).items.map(run => run.id),
        [ok2, ok1],
      )
      t.same(
        await queue.runs('contract.history', { state: 'failed', page: 3, pageSize: 10 }),
        { items: [], total: 2 },
        'past the last page',
      )

      const later = await queue.enqueue('contract.history', {}, { delayMs: 60_000 })
      const pending = await queue.runs('contract.history', { state: 'all', page: 1, pageSize: 2 })
      t.equal(pending.total, 5)
      t.match(
        pending.items,
        [{ id: later, state: 'delayed', attempts: 0, started_at: null, finished_at: null, error: null }, { id: fail2 }],
        'runs not finished lead',
      )
      await t.rejects(queue.runs('contract.missing', { state: 'all', page: 1, pageSize: 10 }), {
        code: 'PARLEY_ERR_JOB_NOT_FOUND',
      })
    })

    t.test('a failed run can be retried: it runs again with its id and data', async t => {
      const queue = driver.open(t)
      const attempts: Array<{ id: string; attempt: number; data: unknown }> = []
      let failing = true
      queue.define({
        name: 'contract.retry',
        attempts: 2,
        backoffMs: 20,
        async handler(run) {
          attempts.push({ id: run.id, attempt: run.attempt, data: run.data })
          if (failing) throw new Error(`attempt ${run.attempt} failed`)
        },
      })
      await queue.start()
      const id = await queue.enqueue('contract.retry', { n: 7 })
      const runs = () => queue.runs('contract.retry', { state: 'all', page: 1, pageSize: 10 })
      await eventually(async () => (await runs()).items[0]?.state === 'failed')
      t.match((await runs()).items, [{ id, state: 'failed', attempts: 2, error: 'attempt 2 failed' }])

      failing = false
      await queue.retry(id)
      await eventually(async () => (await runs()).items[0]?.state === 'completed')
      t.same(
        attempts,
        [
          { id, attempt: 1, data: { n: 7 } },
          { id, attempt: 2, data: { n: 7 } },
          { id, attempt: 3, data: { n: 7 } },
        ],
        'one more attempt, same id and data',
      )
      const after = await runs()
      t.equal(after.total, 1, 'still one run')
      t.match(after.items[0], { id, state: 'completed', attempts: 3, error: null })
      t.match((await queue.overview())[0]?.counts, { completed: 1, failed: 0 })

      await t.rejects(queue.retry(id), { code: 'PARLEY_ERR_JOB_RUN_NOT_FAILED' }, 'a completed run is not retried')
      const later = await queue.enqueue('contract.retry', {}, { delayMs: 60_000 })
      await t.rejects(
        queue.retry(later),
        { code: 'PARLEY_ERR_JOB_RUN_NOT_FAILED', message: /delayed/ },
        'nor a queued one',
      )
      await t.rejects(queue.retry(randomUUID()), { code: 'PARLEY_ERR_JOB_RUN_NOT_FOUND' })
      await t.rejects(queue.retry('1'), { code: 'PARLEY_ERR_JOB_RUN_NOT_FOUND' })
      await sleep(200)
      t.equal(attempts.length, 3, 'refused retries ran nothing')
    })

    t.test('concurrency and delay are honoured', async t => {
      const queue = driver.open(t)
      let active = 0
      let peak = 0
      let done = 0
      let delayedAt = 0
      queue.define({
        name: 'contract.parallel',
        concurrency: 2,
        async handler() {
          peak = Math.max(peak, ++active)
          await sleep(150)
          active -= 1
          done += 1
        },
      })
      queue.define({ name: 'contract.later', handler: async () => void (delayedAt = Date.now()) })
      await queue.start()
      const enqueuedAt = Date.now()
      await queue.enqueue('contract.later', {}, { delayMs: 400 })
      for (let i = 0; i < 4; i += 1) await queue.enqueue('contract.parallel', { i })
      await waitFor(() => done === 4 && delayedAt > 0)
      t.equal(peak, 2, 'two at a time')
      t.ok(delayedAt - enqueuedAt >= 390, `delayed job waited (${delayedAt - enqueuedAt} ms)`)
    })
  })
}

const inProcess: Driver = {
  name: 'in-process',
  skip: false,
  open(t, logger = silent) {
    const queue = new InProcessJobQueue({ logger })
    t.teardown(() => queue.close())
    return queue
  },
}

const redisUrl = testServices.redisUrl ?? ''
const uniquePrefix = (): string => `parley-test-${randomUUID()}`

/** Removes every key under `prefix`, so test runs never see each other's jobs. */
async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(redisUrl)
  try {
    for await (const keys of redis.scanStream({ match: `${prefix}:*`, count: 500 }) as AsyncIterable<string[]>) {
      if (keys.length > 0) await redis.unlink(...keys)
    }
  } finally {
    await redis.quit()
  }
}

function openBullMq(t: Tap, prefix: string, logger: Logger = silent): BullMqJobQueue {
  const queue = new BullMqJobQueue({ url: redisUrl, prefix, logger })
  t.teardown(async () => {
    await queue.close()
    await deleteKeys(prefix)
  })
  return queue
}

const bullMq: Driver = {
  name: 'bullmq',
  skip: missingService('redis'),
  open: (t, logger) => openBullMq(t, uniquePrefix(), logger),
}

contract(inProcess)
contract(bullMq)

t.test(
  'bullmq: two gateways on one prefix share one schedule and run each tick once',
  { skip: missingService('redis') },
  async t => {
    const prefix = uniquePrefix()
    const runs: Array<{ id: string; second: number }> = []
    const gateways = [openBullMq(t, prefix), openBullMq(t, prefix)]
    for (const gateway of gateways) {
      gateway.define({
        name: 'contract.tick',
        cron: '* * * * * *',
        handler: async run => void runs.push({ id: run.id, second: Math.floor(Date.now() / 1000) }),
      })
    }
    await Promise.all(gateways.map(gateway => gateway.start()))

    const connection = new Redis(redisUrl)
    const inspect = new Queue('contract.tick', { connection, prefix })
    t.teardown(async () => {
      await inspect.close()
      await connection.quit()
    })
    const schedulers = await inspect.getJobSchedulers()
    t.equal(schedulers.length, 1, 'one scheduler for both gateways')
    t.match(schedulers[0], { key: 'contract.tick', pattern: '* * * * * *', tz: 'UTC' })

    runs.length = 0
    await sleep(3000)
    const counted = runs.length
    t.ok(counted >= 2 && counted <= 4, `about 3 runs in 3 s, not 6 (got ${counted})`)
    t.equal(new Set(runs.map(run => run.id)).size, counted, 'no job ran twice')
    t.equal(new Set(runs.map(run => run.second)).size, counted, 'one run per second across both gateways')
  },
)

t.test('the factory picks the in-process runner without a Redis URL, BullMQ with one', async t => {
  const local = await createJobQueue({ logger: silent })
  t.teardown(() => local.close())
  t.equal(local.kind, 'in-process')
  if (missingService('redis')) return
  const shared = await createJobQueue({ redisUrl, prefix: uniquePrefix(), logger: silent })
  t.teardown(() => shared.close())
  t.equal(shared.kind, 'bullmq')
})
