import t from 'tap'
import type { UsageRecord, UserUsage } from '@parley/core'
import { createTestGateway, headerAuth, missingService, testServices, type TestGateway } from '@parley/core/testing'
import { computeUserUsage } from '../src/usage/stats.js'

// Two users, one user's API token and a guest, told apart by the x-who header.
const fixtures = headerAuth({
  ada: { kind: 'user', userId: '3', role: 'user', group: 'default', name: 'ada' },
  bob: { kind: 'user', userId: '4', role: 'user', group: 'default', name: 'bob' },
  adaToken: { kind: 'api_token', tokenId: '9', userId: '3', role: 'user', group: 'default', name: 'ada' },
  root: { kind: 'user', userId: '1', role: 'root', group: 'default', name: 'root' },
})

const dialects = [
  { name: 'sqlite', skip: false as string | false, mysqlUrl: undefined as string | undefined },
  { name: 'mysql', skip: missingService('mysql'), mysqlUrl: testServices.mysqlUrl },
]

const HOUR = 3_600_000
const DAY = 24 * HOUR
const ZONE = 'Asia/Shanghai'

type Seed = UsageRecord & { readonly createdAt: Date }

let next = 0
const call = (userId: number | null, model: string, ago: number, extra: Partial<UsageRecord> = {}): Seed => ({
  createdAt: new Date(Date.now() - ago),
  requestId: `req-${++next}`,
  ip: '198.51.100.1',
  principalKind: userId === null ? 'guest' : 'user',
  userId,
  username: userId === null ? null : `user-${userId}`,
  model,
  promptTokens: 10 + next,
  completionTokens: 100 + next,
  estimated: false,
  status: 'success',
  latencyMs: 100,
  endpoint: 'chat.completions',
  stream: true,
  ...extra,
})

const localDay = (instant: number) =>
  new Intl.DateTimeFormat('en-CA', { timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
    instant,
  )

/** The answer by brute force: every row of the user dated by Intl, the oracle. */
function expected(rows: readonly Seed[], userId: number, days: number) {
  const dates = Array.from({ length: days }, (_, index) => localDay(Date.now() - (days - 1 - index) * DAY))
  const mine = rows.filter(row => row.userId === userId && dates.includes(localDay(row.createdAt.getTime())))
  const sum = (list: readonly Seed[]) => ({
    calls: list.length,
    prompt_tokens: list.reduce((s, r) => s + r.promptTokens, 0),
    completion_tokens: list.reduce((s, r) => s + r.completionTokens, 0),
  })
  const models = [...new Set(mine.map(row => row.model))]
    .map(model => ({ model, ...sum(mine.filter(row => row.model === model)) }))
    .sort((a, b) => b.calls - a.calls || a.model.localeCompare(b.model))
  return {
    totals: sum(mine),
    models,
    daily: dates.map(date => ({ date, ...sum(mine.filter(row => localDay(row.createdAt.getTime()) === date)) })),
  }
}

for (const dialect of dialects) {
  t.test(`${dialect.name}: GET /api/usage/me`, { skip: dialect.skip }, async t => {
    const gateway: TestGateway = await createTestGateway({
      plugins: [fixtures],
      ...(dialect.mysqlUrl ? { mysqlUrl: dialect.mysqlUrl } : {}),
      config: { settings: { time_zone: ZONE } },
    })
    t.teardown(gateway.close)
    const rows: Seed[] = [
      call(3, 'gpt-4o-mini', HOUR),
      call(3, 'gpt-4o-mini', 2 * HOUR, { status: 'error', errorType: 'upstream_error' }),
      call(3, 'deepseek-r1', 2 * DAY, { principalKind: 'api_token', tokenId: 9 }),
      call(3, 'gpt-4o-mini', 10 * DAY + 5 * HOUR),
      call(3, 'gpt-4o-mini', 29 * DAY - 2 * HOUR),
      call(3, 'old-model', 40 * DAY),
      call(4, 'bobs-secret-model', HOUR),
      call(4, 'gpt-4o-mini', 3 * DAY),
      call(null, 'gpt-4o-mini', HOUR),
    ]
    for (const row of rows) gateway.usage.record(row)
    await gateway.usage.flush()
    const get = (who: string | undefined, query = '') =>
      gateway.inject({ method: 'GET', url: `/api/usage/me${query}`, headers: who ? { 'x-who': who } : {} })

    t.test('a user sees their own calls and tokens, by model and by day, in the time_zone setting', async t => {
      const response = await get('ada')
      t.equal(response.statusCode, 200)
      const body = response.json() as UserUsage
      const want = expected(rows, 3, 30)
      t.match(body, { days: 30, time_zone: ZONE, from: want.daily[0]?.date, to: localDay(Date.now()) })
      t.same(body.totals, want.totals, 'totals: every call of the 30 days, errors included')
      t.same(body.models, want.models)
      t.same(body.daily, want.daily, '30 days, oldest first, empty days at zero')
      t.equal(body.daily.length, 30)
      t.notOk(
        body.models.some(m => m.model === 'old-model'),
        'a call 40 days ago is outside the window',
      )
      const week = (await get('ada', '?days=7')).json() as UserUsage
      t.same(week.daily, expected(rows, 3, 7).daily)
      const today = (await get('ada', '?days=1')).json() as UserUsage
      t.same(today.totals, expected(rows, 3, 1).totals, 'one day: today only')
      const quarter = (await get('ada', '?days=90')).json() as UserUsage
      t.ok(
        quarter.models.some(m => m.model === 'old-model'),
        '90 days reach the older call',
      )
    })

    t.test("IDOR: nobody ever gets another user's usage", async t => {
      const ada = JSON.stringify((await get('ada')).json())
      const bob = (await get('bob')).json() as UserUsage
      t.notMatch(ada, 'bobs-secret-model', "bob's model is not in ada's answer")
      t.same(bob.totals, expected(rows, 4, 30).totals, 'bob sees only his two calls')
      t.same(bob.models.map(m => m.model).sort(), ['bobs-secret-model', 'gpt-4o-mini'])
      // The user comes from the session; a query naming another user is refused, not obeyed.
      for (const query of ['?user_id=4', '?userId=4', '?days=30&user=4', '?user_id=4&days=7']) {
        const attempt = await get('ada', query)
        if (attempt.statusCode === 200) t.notMatch(attempt.body, 'bobs-secret-model', `${query}: still ada's own`)
        else t.equal(attempt.statusCode, 400, `${query}: refused`)
      }
      const root = (await get('root')).json() as UserUsage
      t.same(
        root.totals,
        { calls: 0, prompt_tokens: 0, completion_tokens: 0 },
        "even root sees only their own (none), not everyone's",
      )
    })

    t.test('a session only: anonymous callers and API tokens are refused; days are checked', async t => {
      t.equal((await get(undefined)).statusCode, 401)
      t.equal((await get('adaToken')).statusCode, 401, 'an API token cannot read usage (session required)')
      for (const query of ['?days=0', '?days=91', '?days=abc', '?days=1.5'])
        t.equal((await get('ada', query)).statusCode, 400, query)
    })
  })
}

t.test('computeUserUsage gives each row its local day at fixed moments, across a daylight-saving change', async t => {
  const gateway = await createTestGateway({ plugins: [fixtures] })
  t.teardown(gateway.close)
  // New York springs forward on 2025-03-09: that day has 23 hours.
  const now = new Date('2025-03-10T15:00:00Z')
  const at = (iso: string, model = 'm') => ({ ...call(3, model, 0), createdAt: new Date(iso) })
  const seeded = [
    at('2025-03-10T04:30:00Z'), // 00:30 on the 10th in New York (EDT, −4)
    at('2025-03-10T03:30:00Z'), // 23:30 on the 9th
    at('2025-03-09T05:30:00Z'), // 00:30 on the 9th (EST, −5)
    at('2025-03-09T04:59:59Z'), // 23:59:59 on the 8th
    at('2025-03-08T04:59:59Z'), // 23:59:59 on the 7th: outside 3 days
  ]
  for (const row of seeded) gateway.usage.record(row)
  await gateway.usage.flush()
  const usage = await computeUserUsage(gateway.db.em(), { userId: 3, days: 3, now, timeZone: 'America/New_York' })
  t.same(
    usage.daily.map(d => [d.date, d.calls]),
    [
      ['2025-03-08', 1],
      ['2025-03-09', 2],
      ['2025-03-10', 1],
    ],
  )
  t.equal(usage.totals.calls, 4)
})
