// One contract for both job drivers: the in-process runner and BullMQ on a real Redis.
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { pino } from 'pino'
import t from 'tap'
import { BullMqJobQueue, InProcessJobQueue, type JobQueue, type JobRun } from '../src/jobs/index.js'
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

function captureLogs(): { logger: Logger; entries: () => Array<Record<string, unknown>> } {
  const lines: string[] = []
  const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) })
  return { logger, entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) }
}

function contract(driver: Driver): void {
  t.test(`${driver.name}: jobs contract`, { skip: driver.skip }, async (t) => {
    t.test('an enqueued job runs exactly once with its data', async (t) => {
      const queue = driver.open(t)
      const runs: JobRun[] = []
      queue.define({ name: 'contract.echo', handler: async (run) => void runs.push(run) })
      await queue.start()
      const id = await queue.enqueue('contract.echo', { text: 'hello', n: 1 })
      await waitFor(() => runs.length > 0)
      await sleep(300) // room for a second run to show up
      t.equal(runs.length, 1)
      t.match(runs[0], { id, name: 'contract.echo', attempt: 1 })
      t.same(runs[0]?.data, { text: 'hello', n: 1 })
    })

    t.test('a job enqueued before start runs once the queue starts', async (t) => {
      const queue = driver.open(t)
      const runs: unknown[] = []
      queue.define({ name: 'contract.early', handler: async (run) => void runs.push(run.data) })
      await queue.enqueue('contract.early', { early: true })
      await sleep(100)
      t.equal(runs.length, 0, 'nothing runs before start')
      await queue.start()
      await waitFor(() => runs.length > 0)
      t.same(runs, [{ early: true }])
    })

    t.test('a failing job is retried with growing backoff, stops after its attempts, logs no data', async (t) => {
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
      t.same(attempts.map((a) => a.attempt), [1, 2, 3])
      t.ok(attempts.every((a) => a.id === id), 'every attempt has the job id')
      const [first, second, third] = attempts.map((a) => a.at) as [number, number, number]
      t.ok(second - first >= 195, `first retry after ~200 ms (${second - first})`)
      t.ok(third - second >= 395, `second retry after ~400 ms (${third - second})`)
      t.ok(third - second > second - first, 'the delay grows')
      const failures = entries().filter((entry) => entry.level === 50)
      t.equal(failures.length, 1, 'one error line, after the last attempt')
      t.match(failures[0], { job: 'contract.flaky', jobId: id, attempts: 3, error: 'upstream said no' })
      t.notMatch(JSON.stringify(entries()), /sk-secret-value/, 'job data never reaches the log')
    })

    t.test('a job that succeeds on retry is not run again', async (t) => {
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

    t.test('a cron job runs every tick', async (t) => {
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
      t.ok(gaps.every((gap) => gap >= 500), `one run per second (gaps ${gaps.join(', ')} ms)`)
    })

    t.test('close waits for a running job, then refuses new work', async (t) => {
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

    t.test('mistakes are coded errors', async (t) => {
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
      t.throws(() => queue.define({ name: 'contract.cron', cron: '0 3 * * *', timezone: 'Mars/Olympus', handler: noop }), invalid)
      await t.rejects(queue.enqueue('contract.once', {}, { delayMs: -1 }), invalid)
      await queue.start()
      t.throws(() => queue.define({ name: 'contract.late', handler: noop }), { code: 'PARLEY_ERR_JOB_STARTED' })
    })

    t.test('a jobId is queued once until its run finishes', async (t) => {
      const queue = driver.open(t)
      const runs: Array<{ id: string; data: unknown }> = []
      queue.define({ name: 'contract.dedupe', handler: async (run) => void runs.push({ id: run.id, data: run.data }) })
      const first = await queue.enqueue('contract.dedupe', { n: 1 }, { jobId: 'user-42' })
      t.equal(await queue.enqueue('contract.dedupe', { n: 2 }, { jobId: 'user-42' }), first, 'same id while queued')
      const other = await queue.enqueue('contract.dedupe', { n: 3 }, { jobId: 'user-43' })
      t.not(other, first)
      await queue.start()
      await waitFor(() => runs.length >= 2)
      await sleep(300)
      t.equal(runs.length, 2, 'user-42 ran once, user-43 once')
      t.same(runs.find((run) => run.id === first)?.data, { n: 1 }, 'the first enqueue wins')
      t.same(runs.find((run) => run.id === other)?.data, { n: 3 })
      const again = await queue.enqueue('contract.dedupe', { n: 4 }, { jobId: 'user-42' })
      t.not(again, first, 'a finished jobId can be queued again')
      await waitFor(() => runs.some((run) => run.id === again))
    })

    t.test('concurrency and delay are honoured', async (t) => {
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

t.test('bullmq: two gateways on one prefix share one schedule and run each tick once', { skip: missingService('redis') }, async (t) => {
  const prefix = uniquePrefix()
  const runs: Array<{ id: string; second: number }> = []
  const gateways = [openBullMq(t, prefix), openBullMq(t, prefix)]
  for (const gateway of gateways) {
    gateway.define({
      name: 'contract.tick',
      cron: '* * * * * *',
      handler: async (run) => void runs.push({ id: run.id, second: Math.floor(Date.now() / 1000) }),
    })
  }
  await Promise.all(gateways.map((gateway) => gateway.start()))

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
  t.equal(new Set(runs.map((run) => run.id)).size, counted, 'no job ran twice')
  t.equal(new Set(runs.map((run) => run.second)).size, counted, 'one run per second across both gateways')
})
