import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { definePlugin, RETENTION_JOB } from '@parley/core'
import {
  captureLogs,
  createTestGateway,
  headerAuth,
  missingService,
  testServices,
  type TestGateway,
} from '@parley/core/testing'

// The jobs admin API through inject(), on both job drivers: what the admin console's
// "background jobs" page reads and the retry it sends.

const fixtures = headerAuth({
  admin: { kind: 'user', userId: '1', role: 'admin', group: 'default', name: 'ada' },
  root: { kind: 'user', userId: '2', role: 'root', group: 'default', name: 'root' },
  user: { kind: 'user', userId: '3', role: 'user', group: 'default', name: 'bob' },
})

const drivers = [
  { name: 'in-process', skip: false as string | false, redisUrl: undefined as string | undefined },
  { name: 'bullmq', skip: missingService('redis'), redisUrl: testServices.redisUrl },
]

/** Two jobs of a plugin: `echo` always succeeds, `flaky` fails while `failing.on` is set. */
function jobsPlugin(failing: { on: boolean }) {
  return definePlugin({
    id: 'jobs-fixtures',
    version: '1.0.0',
    setup(ctx) {
      ctx.jobs.define({ name: 'jobs-fixtures.echo', handler: () => sleep(2) })
      ctx.jobs.define({
        name: 'jobs-fixtures.flaky',
        attempts: 1,
        async handler() {
          if (failing.on) throw new Error('the upstream said no')
        },
      })
    },
  })
}

interface Json {
  [key: string]: unknown
}

async function eventually(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await sleep(20)
  }
}

for (const driver of drivers) {
  t.test(`${driver.name}: the jobs admin API`, { skip: driver.skip }, async t => {
    const failing = { on: true }
    const logs = captureLogs('info')
    const gateway = await createTestGateway({
      plugins: [fixtures, jobsPlugin(failing)],
      redisUrl: driver.redisUrl,
      logger: logs.logger,
    })
    t.teardown(gateway.close)
    const get = (url: string, who = 'admin') =>
      gateway.inject({ method: 'GET', url, headers: who ? { 'x-who': who } : {} })
    const retry = (id: string, who = 'admin', payload?: object) =>
      gateway.inject({
        method: 'POST',
        url: `/api/admin/jobs/runs/${encodeURIComponent(id)}/retry`,
        headers: who ? { 'x-who': who } : {},
        ...(payload ? { payload } : {}),
      })
    const runs = async (name: string, query = '') =>
      (await get(`/api/admin/jobs/${name}/runs${query}`)).json<{
        items: Json[]
        total: number
        page: number
        page_size: number
      }>()

    t.test('lists every job with its driver, counts and schedule', async t => {
      const response = await get('/api/admin/jobs', 'root')
      t.equal(response.statusCode, 200)
      const body = response.json<{ driver: string; items: Json[]; total: number; page: number; page_size: number }>()
      t.equal(body.driver, driver.name)
      t.same(
        body.items.map(item => item.name),
        [RETENTION_JOB, 'jobs-fixtures.echo', 'jobs-fixtures.flaky'],
      )
      t.match(body, { total: 3, page: 1, page_size: 3 })
      t.match(body.items[0], { cron: '30 19 * * *', timezone: 'UTC', next_run_at: /^\d{4}-\d\d-\d\dT19:30:00\.000Z$/ })
      t.match(body.items[1], {
        cron: null,
        timezone: null,
        next_run_at: null,
        last_run: null,
        counts: { waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 },
      })
    })

    t.test('pages the runs of a job, newest first', async t => {
      const ids: string[] = []
      for (let i = 0; i < 5; i += 1) ids.push(await gateway.jobs.enqueue('jobs-fixtures.echo', { i }))
      await eventually(async () => (await runs('jobs-fixtures.echo', '?state=completed')).total === 5)
      const first = await runs('jobs-fixtures.echo', '?page_size=2')
      t.match(first, { total: 5, page: 1, page_size: 2 })
      t.equal(first.items.length, 2)
      const last = await runs('jobs-fixtures.echo', '?page=3&page_size=2')
      t.match(last, { total: 5, page: 3, page_size: 2 })
      t.same(
        last.items.map(item => item.id),
        [ids[0]],
        'the oldest run is last',
      )
      t.match(await runs('jobs-fixtures.echo'), { page: 1, page_size: 20, total: 5 }, 'page_size defaults to 20')
      t.notOk('data' in (first.items[0] ?? {}), 'no job data in the view')
      t.match((await get('/api/admin/jobs/jobs-fixtures.missing/runs')).json(), { error: { type: 'not_found' } })
      t.equal((await get('/api/admin/jobs/jobs-fixtures.missing/runs')).statusCode, 404)
    })

    t.test('retries a failed run: 202, then it runs again; other ids are refused', async t => {
      const id = await gateway.jobs.enqueue('jobs-fixtures.flaky', { note: 'private' })
      await eventually(async () => (await runs('jobs-fixtures.flaky', '?state=failed')).total === 1)
      t.match((await runs('jobs-fixtures.flaky', '?state=failed')).items, [
        { id, state: 'failed', attempts: 1, error: 'the upstream said no' },
      ])
      const overview = (await get('/api/admin/jobs'))
        .json<{ items: Json[] }>()
        .items.find(item => item.name === 'jobs-fixtures.flaky')
      t.match(overview, { counts: { failed: 1 }, last_run: { id, state: 'failed' } })

      failing.on = false
      const response = await retry(id, 'admin', {}) // the console sends an empty JSON body
      t.equal(response.statusCode, 202)
      t.same(response.json(), { id })
      await eventually(async () => (await runs('jobs-fixtures.flaky', '?state=completed')).total === 1)
      t.match((await runs('jobs-fixtures.flaky')).items, [{ id, state: 'completed', attempts: 2, error: null }])
      t.equal(
        logs
          .containing('job run retried')
          .filter(line => line.includes(`"job_run_id":"${id}"`) && line.includes('"user_id":"1"')).length,
        1,
        'the retry is logged with the admin',
      )

      const again = await retry(id)
      t.equal(again.statusCode, 409)
      t.match(again.json(), { error: { type: 'job_run_not_failed' } })
      t.equal((await retry('00000000-0000-4000-8000-000000000000')).statusCode, 404)
    })

    t.test('admins and root only', async t => {
      const routes = [
        () => get('/api/admin/jobs', 'user'),
        () => get('/api/admin/jobs/jobs-fixtures.echo/runs', 'user'),
        () => retry('00000000-0000-4000-8000-000000000000', 'user'),
      ]
      for (const call of routes) t.equal((await call()).statusCode, 403)
      const anonymous = [
        () => get('/api/admin/jobs', ''),
        () => get('/api/admin/jobs/jobs-fixtures.echo/runs', ''),
        () => retry('00000000-0000-4000-8000-000000000000', ''),
      ]
      for (const call of anonymous) t.equal((await call()).statusCode, 401)
    })

    t.test('bad parameters are a 400', async t => {
      await checkBadRequests(t, gateway)
    })
  })
}

async function checkBadRequests(t: Test, gateway: TestGateway): Promise<void> {
  const headers = { 'x-who': 'admin' }
  for (const query of ['page_size=0', 'page_size=101', 'page_size=ten', 'page=0', 'state=running', 'extra=1']) {
    const response = await gateway.inject({
      method: 'GET',
      url: `/api/admin/jobs/jobs-fixtures.echo/runs?${query}`,
      headers,
    })
    t.equal(response.statusCode, 400, query)
    t.match(response.json(), { error: { type: 'invalid_request' } })
  }
  t.equal(
    (await gateway.inject({ method: 'GET', url: '/api/admin/jobs/Jobs_Fixtures/runs', headers })).statusCode,
    400,
    'a name outside [a-z0-9.-]',
  )
  t.equal(
    (await gateway.inject({ method: 'POST', url: '/api/admin/jobs/runs/bad%20id/retry', headers })).statusCode,
    400,
    'an id with a space',
  )
}
