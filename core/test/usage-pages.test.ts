import t from 'tap'
import type { UsageRecord } from '@parley/core'
import { createTestGateway, headerAuth, missingService, testServices } from '@parley/core/testing'

// Deep pages of the admin log list: a page past the first 2000 rows of a time or model filter is
// found from the rollups (the quarter hour holding its first row), not by skipping every row
// before it; and `status=success` is counted as the other statuses' complement. The pages and
// totals must be exactly those of the plain query, at every quarter-hour and day edge.
const fixtures = headerAuth({
  admin: { kind: 'user', userId: '1', role: 'admin', group: 'default', name: 'ada' },
})

const dialects = [
  { name: 'sqlite', skip: false as string | false, mysqlUrl: undefined as string | undefined },
  { name: 'mysql', skip: missingService('mysql'), mysqlUrl: testServices.mysqlUrl },
]

const ROWS = 4800
const START = Date.parse('2025-03-01T22:00:00Z')
const MODELS = ['a', 'b', 'c']
const STATUSES = ['success', 'success', 'success', 'error', 'success', 'aborted', 'success'] as const

type Seed = UsageRecord & { readonly createdAt: Date }

/** Over four hours that cross a UTC midnight, several rows per second so pages split seconds. */
const seeds: Seed[] = Array.from({ length: ROWS }, (_, n) => ({
  createdAt: new Date(START + Math.floor(n / 4) * 12_000),
  requestId: `req-${n}`,
  ip: '198.51.100.1',
  principalKind: 'guest',
  model: MODELS[n % 7 === 0 ? 2 : n % 5 === 0 ? 1 : 0] as string,
  promptTokens: 1,
  completionTokens: 1,
  estimated: false,
  status: STATUSES[n % STATUSES.length] as (typeof STATUSES)[number],
  latencyMs: 100,
  endpoint: 'chat.completions',
  stream: false,
}))
const newestFirst = seeds
  .map((row, index) => ({ row, index }))
  .sort((a, b) => b.row.createdAt.getTime() - a.row.createdAt.getTime() || b.index - a.index)
  .map(({ row }) => row)

for (const dialect of dialects) {
  t.test(`${dialect.name}: deep pages and totals equal the plain query's`, { skip: dialect.skip }, async t => {
    const gateway = await createTestGateway({ plugins: [fixtures], mysqlUrl: dialect.mysqlUrl })
    t.teardown(gateway.close)
    for (const row of seeds) gateway.usage.record(row)
    await gateway.usage.flush()

    const at = (minutes: number) => new Date(START + minutes * 60_000)
    const cases: Array<[string, (row: Seed) => boolean]> = [
      ['', () => true],
      ['model=a', row => row.model === 'a'],
      // Edges inside quarter hours, and the range crossing midnight.
      [
        `from=${at(7.5).toISOString()}&to=${at(223.2).toISOString()}`,
        row => row.createdAt >= at(7.5) && row.createdAt < at(223.2),
      ],
      [
        `model=a&from=${at(31).toISOString()}&to=${at(239).toISOString()}`,
        row => row.model === 'a' && row.createdAt >= at(31) && row.createdAt < at(239),
      ],
      ['status=success', row => row.status === 'success'],
      [`status=success&from=${at(44.1).toISOString()}`, row => row.status === 'success' && row.createdAt >= at(44.1)],
    ]
    for (const [query, keep] of cases) {
      const wanted = newestFirst.filter(keep).map(row => row.requestId)
      t.ok(wanted.length > 2100, `sanity: ${query || 'no filter'} holds deep pages (${wanted.length} rows)`)
      for (const [page, size] of [
        [1, 50],
        [11, 200],
        [12, 200],
        [41, 60],
        [Math.ceil(wanted.length / 90), 90],
        [Math.ceil(wanted.length / 90) + 1, 90],
      ] as const) {
        const response = await gateway.inject({
          method: 'GET',
          url: `/api/admin/logs?page=${page}&page_size=${size}${query ? `&${query}` : ''}`,
          headers: { 'x-who': 'admin' },
        })
        t.equal(response.statusCode, 200)
        const answer = response.json() as { items: Array<{ request_id: string }>; total: number }
        t.equal(answer.total, wanted.length, `${query || 'no filter'}: total`)
        t.same(
          answer.items.map(item => item.request_id),
          wanted.slice((page - 1) * size, page * size),
          `${query || 'no filter'}: page ${page} of ${size}`,
        )
      }
    }
  })
}
