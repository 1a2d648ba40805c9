import http from 'node:http'
import v8 from 'node:v8'
import { runInNewContext } from 'node:vm'
import t, { type Test } from 'tap'
import type { UsageRecord } from '@parley/core'
import {
  createTestGateway,
  headerAuth,
  missingService,
  pendingSchemaChanges,
  testServices,
  type TestGateway,
} from '@parley/core/testing'
import { Channel } from '../src/catalog/entities.js'
import { m0005UsageStats as mysql0005 } from '../src/db/migrations/mysql/0005_usage_stats.js'
import { m0005UsageStats as sqlite0005 } from '../src/db/migrations/sqlite/0005_usage_stats.js'
import { ZonedCalendar } from '../src/usage/calendar.js'
import { UsageLog, UsageUserActivity } from '../src/usage/entities.js'
import { exportLogs } from '../src/usage/logs.js'
import { computeStats } from '../src/usage/stats.js'

// A stand-in auth (x-who header): the usage admin API is core's and must not need identity.
const fixtures = headerAuth({
  admin: { kind: 'user', userId: '1', role: 'admin', group: 'default', name: 'ada' },
  root: { kind: 'user', userId: '2', role: 'root', group: 'default', name: 'root' },
  user: { kind: 'user', userId: '3', role: 'user', group: 'default', name: 'bob' },
})

const dialects = [
  { name: 'sqlite', skip: false as string | false, mysqlUrl: undefined as string | undefined },
  { name: 'mysql', skip: missingService('mysql'), mysqlUrl: testServices.mysqlUrl },
]

const APPENDIX_A = [
  'id',
  'created_at',
  'ip_address',
  'user_id',
  'username',
  'model',
  'channel_id',
  'channel_name',
  'prompt_tokens',
  'completion_tokens',
  'estimated',
  'status',
  'error_type',
  'latency_ms',
  'ttfb_ms',
  'request_id',
]
const MINUTE = 60_000
const DAY = 86_400_000

type Seed = UsageRecord & { readonly createdAt: Date }

const record = (n: number, createdAt: Date, extra: Partial<UsageRecord> = {}): Seed => ({
  createdAt,
  requestId: `req-${n}`,
  ip: '198.51.100.1',
  principalKind: 'user',
  userId: 1,
  username: 'ada',
  model: 'gpt-4o-mini',
  channelId: 1,
  channelName: 'main',
  promptTokens: 10 + n,
  completionTokens: 20 + n,
  estimated: false,
  status: 'success',
  latencyMs: 100,
  ttfbMs: 10,
  endpoint: 'chat.completions',
  stream: true,
  ...extra,
})

async function seed(gateway: TestGateway, rows: readonly UsageRecord[]): Promise<void> {
  for (const row of rows) gateway.usage.record(row)
  await gateway.usage.flush()
}

const dayFormats = new Map<string, Intl.DateTimeFormat>()
/** The local calendar date of an instant, by Intl directly: the oracle the stats are held to. */
function localDay(instant: number, timeZone: string): string {
  let format = dayFormats.get(timeZone)
  if (!format)
    dayFormats.set(
      timeZone,
      (format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })),
    )
  return format.format(instant)
}

/** The stats by brute force: every row classified by its own local date. */
function bruteForce(rows: readonly Seed[], now: number, timeZone: string) {
  const today = localDay(now, timeZone)
  const [year, month, day] = today.split('-').map(Number) as [number, number, number]
  const shifted = (days: number) => new Date(Date.UTC(year, month - 1, day + days)).toISOString().slice(0, 10)
  const weekday = (new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 6) % 7
  const [monday, nextMonday] = [shifted(-weekday), shifted(7 - weekday)]
  const dates = Array.from({ length: 7 }, (_, index) => shifted(index - 6))
  const dated = rows.map(row => ({ row, day: localDay(row.createdAt.getTime(), timeZone) }))
  const inMonth = dated.filter(({ day }) => day.slice(0, 7) === today.slice(0, 7)).map(({ row }) => row)
  const perModel = new Map<string, number>()
  for (const row of inMonth) perModel.set(row.model, (perModel.get(row.model) ?? 0) + 1)
  const on = (date: string) => dated.filter(({ day }) => day === date).length
  return {
    calls: {
      today: on(today),
      week: dated.filter(({ day }) => day >= monday && day < nextMonday).length,
      month: inMonth.length,
    },
    models: [...perModel]
      .map(([model, calls]) => ({ model, calls }))
      .sort((a, b) => b.calls - a.calls || (a.model < b.model ? -1 : 1)),
    daily: dates.map(date => ({ date, calls: on(date) })),
    tokens: {
      prompt: inMonth.reduce((sum, row) => sum + row.promptTokens, 0),
      completion: inMonth.reduce((sum, row) => sum + row.completionTokens, 0),
    },
    active_users: new Set(inMonth.filter(row => row.userId != null).map(row => row.userId)).size,
    time_zone: timeZone,
  }
}

/** A minimal RFC 4180 reader: quoted cells, doubled quotes, CR and LF inside quotes. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        cell += '"'
        i++
      } else if (char === '"') quoted = false
      else cell += char
    } else if (char === '"') quoted = true
    else if (char === ',') {
      row.push(cell)
      cell = ''
    } else if (char === '\r' && text[i + 1] === '\n') {
      row.push(cell)
      rows.push(row)
      row = []
      cell = ''
      i++
    } else cell += char
  }
  return rows
}

for (const dialect of dialects) {
  const boot = async (t: Test, extra: { listen?: boolean } = {}): Promise<TestGateway> => {
    const gateway = await createTestGateway({ plugins: [fixtures], mysqlUrl: dialect.mysqlUrl, ...extra })
    t.teardown(gateway.close)
    return gateway
  }
  const get = (gateway: TestGateway, url: string, who = 'admin') =>
    gateway.inject({ method: 'GET', url, headers: who ? { 'x-who': who } : {} })

  t.test(`${dialect.name}: usage admin API`, { skip: dialect.skip }, async t => {
    t.test('the migrations match the entities and only admins get in', async t => {
      const gateway = await boot(t)
      t.same(await pendingSchemaChanges(gateway), [], 'schema equals entities')
      for (const url of ['/api/admin/logs', '/api/admin/logs/export', '/api/admin/stats']) {
        t.equal((await get(gateway, url, '')).statusCode, 401, `${url} without a principal`)
        t.equal((await get(gateway, url, 'user')).statusCode, 403, `${url} as a user`)
        t.equal((await get(gateway, url, 'root')).statusCode, 200, `${url} as root`)
        t.equal((await get(gateway, url, 'admin')).statusCode, 200, `${url} as admin`)
      }
    })

    t.test('logs: every filter, newest first, paginated', async t => {
      const gateway = await boot(t)
      const em = gateway.db.em()
      const backup = em.create(Channel, {
        name: 'backup',
        provider: 'mock',
        baseUrl: 'https://1.1.1.1/v1',
        groups: '[]',
        settings: '{}',
      })
      await em.flush()
      const start = Date.parse('2025-03-01T00:00:00Z')
      const seeds = Array.from({ length: 30 }, (_, n) =>
        record(n, new Date(start + n * MINUTE), {
          userId: n % 3 === 0 ? 7 : n % 3 === 1 ? 8 : null,
          username: n % 3 === 0 ? 'bob' : n % 3 === 1 ? '张三' : null,
          principalKind: n % 3 === 2 ? 'guest' : 'user',
          ip: n % 2 === 0 ? '2001:db8::1' : '203.0.113.5',
          model: n % 4 === 0 ? 'deepseek-chat' : 'gpt-4o-mini',
          // The backup channel was logged under an older name; "gone" no longer exists.
          channelId: n % 5 === 0 ? backup.id : 99,
          channelName: n % 5 === 0 ? 'backup-before-rename' : 'gone',
          status: n % 7 === 0 ? 'error' : 'success',
          errorType: n % 7 === 0 ? 'upstream_error' : null,
          endpoint: n % 6 === 0 ? 'responses' : 'chat.completions',
        }),
      )
      // Two rows in the same second as row 29: the tie is broken by id, newest first.
      seeds.push(record(30, new Date(start + 29 * MINUTE)), record(31, new Date(start + 29 * MINUTE)))
      await seed(gateway, seeds)
      const newestFirst = seeds
        .map((row, index) => ({ row, index }))
        .sort((a, b) => b.row.createdAt.getTime() - a.row.createdAt.getTime() || b.index - a.index)
      const expect = (keep: (row: Seed) => boolean) =>
        newestFirst.filter(({ row }) => keep(row)).map(({ row }) => row.requestId)
      const list = async (query: string) => {
        const response = await get(gateway, `/api/admin/logs?page_size=200&${query}`)
        t.equal(response.statusCode, 200, query)
        return response.json() as { items: Array<Record<string, unknown>>; total: number }
      }
      const cases: Array<[string, (row: Seed) => boolean]> = [
        ['', () => true],
        ['user=7', row => row.userId === 7],
        [`user=${encodeURIComponent('张三')}`, row => row.username === '张三'],
        ['ip=2001:db8::1', row => row.ip === '2001:db8::1'],
        ['model=deepseek-chat', row => row.model === 'deepseek-chat'],
        [`channel=${backup.id}`, row => row.channelId === backup.id],
        ['channel=backup', row => row.channelId === backup.id],
        ['channel=gone', row => row.channelName === 'gone'],
        ['status=error', row => row.status === 'error'],
        ['endpoint=responses', row => row.endpoint === 'responses'],
        [
          'from=2025-03-01T00:10:00Z&to=2025-03-01T08:20:00%2B08:00',
          row => row.createdAt.getTime() >= start + 10 * MINUTE && row.createdAt.getTime() < start + 20 * MINUTE,
        ],
        [
          'user=bob&status=error&model=deepseek-chat',
          row => row.username === 'bob' && row.status === 'error' && row.model === 'deepseek-chat',
        ],
        // Counted from the rollups, plus the rows of partial quarter hours at either edge.
        ['from=2025-03-01T00:00:00Z&to=2025-03-01T00:29:30Z', row => row.createdAt.getTime() < start + 29.5 * MINUTE],
        [
          'model=gpt-4o-mini&from=2025-03-01T00:07:00Z',
          row => row.model === 'gpt-4o-mini' && row.createdAt.getTime() >= start + 7 * MINUTE,
        ],
        ['to=2025-03-01T00:15:00Z', row => row.createdAt.getTime() < start + 15 * MINUTE],
        [
          'from=2025-03-01T00:16:00Z&to=2025-03-01T00:17:00Z',
          row => row.createdAt.getTime() >= start + 16 * MINUTE && row.createdAt.getTime() < start + 17 * MINUTE,
        ],
      ]
      for (const [query, keep] of cases) {
        const answer = await list(query)
        const wanted = expect(keep)
        t.ok(wanted.length > 0, `sanity: ${query || 'no filter'} matches rows`)
        t.same(
          answer.items.map(item => item.request_id),
          wanted,
          query || 'no filter',
        )
        t.equal(answer.total, wanted.length)
      }

      const page = (await get(gateway, '/api/admin/logs?page=2&page_size=7')).json()
      t.match(page, { total: 32, page: 2, page_size: 7 })
      t.same(
        page.items.map((item: { request_id: string }) => item.request_id),
        expect(() => true).slice(7, 14),
        'page 2 of 7',
      )
      t.match((await get(gateway, '/api/admin/logs?page=9&page_size=7')).json(), { items: [], total: 32, page: 9 })
      t.equal((await get(gateway, '/api/admin/logs')).json().page_size, 50, 'default page size')

      const [item] = (await list('user=7&status=error')).items
      t.same(Object.keys(item ?? {}).slice(0, APPENDIX_A.length), APPENDIX_A, 'Appendix A field names')
      t.match(item, {
        created_at: '2025-03-01T00:21:00.000Z',
        ip_address: '203.0.113.5',
        user_id: 7,
        username: 'bob',
        estimated: false,
        stream: true,
        status: 'error',
        error_type: 'upstream_error',
        principal_kind: 'user',
      })
      t.notOk(JSON.stringify(await list('')).includes('"ip"'), 'the column is called ip_address on the wire')

      for (const [query, reason] of [
        ['page_size=201', /page_size/],
        ['from=yesterday', /from must be an ISO 8601 time/],
        ['from=2025-03-01T00:00:00', /from must be an ISO 8601 time with a zone/],
        ['to=2025-02-30T00:00:00Z', /to must be/],
        ['from=2025-03-02T00:00:00Z&to=2025-03-01T00:00:00Z', /from must be before/],
        ['status=pending', /status/],
        ['colour=red', /colour|additional/],
      ] as const) {
        const response = await get(gateway, `/api/admin/logs?${query}`)
        t.equal(response.statusCode, 400, query)
        t.match(response.json().error.message, reason, query)
      }
    })

    t.test('export: CSV with a BOM, quoted and neutralised cells, Chinese intact, same filters', async t => {
      const gateway = await boot(t)
      await gateway.settings.set('time_zone', 'Asia/Shanghai')
      const start = Date.parse('2025-03-01T00:00:00Z')
      const hostile = [
        '=HYPERLINK("http://x","y")',
        '+SUM(1,2)',
        '-2+3',
        '@cmd',
        '\tleading tab',
        '\rcarriage',
        '张三, "quoted"\nline',
        'plain',
      ]
      await seed(gateway, [
        ...hostile.map((username, n) =>
          record(n, new Date(start + n * MINUTE), { username, requestId: n === 0 ? '=1+1' : `req-${n}` }),
        ),
        record(99, new Date(start + 99 * MINUTE), { model: 'deepseek-chat', username: '李四' }),
      ])
      const response = await get(gateway, '/api/admin/logs/export?model=gpt-4o-mini')
      t.equal(response.statusCode, 200)
      t.equal(response.headers['content-type'], 'text/csv; charset=utf-8')
      t.equal(
        response.headers['content-disposition'],
        `attachment; filename="usage-logs-${localDay(Date.now(), 'Asia/Shanghai')}.csv"`,
        'dated in the time_zone setting',
      )
      t.same([...response.rawPayload.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 byte order mark first')
      const text = response.rawPayload.toString('utf8').slice(1)
      t.ok(text.endsWith('\r\n'), 'CRLF lines')
      const [header, ...rows] = parseCsv(text)
      t.same(header?.slice(0, APPENDIX_A.length), APPENDIX_A, 'header row')
      t.equal(rows.length, hostile.length, 'the model filter applies')
      const column = (name: string) => header?.indexOf(name) as number
      const usernames = rows.map(row => row[column('username')])
      t.same(
        usernames,
        [...hostile].reverse().map(name => (/^[=+\-@\t\r]/.test(name) ? `'${name}` : name)),
        'newest first; formula starts neutralised',
      )
      t.equal(rows.at(-1)?.[column('request_id')], "'=1+1", 'any text column is neutralised')
      t.ok(text.includes('"张三, ""quoted""\nline"'), 'commas, quotes and newlines are quoted')
      t.equal(rows[0]?.[column('created_at')], '2025-03-01T00:07:00.000Z')
      t.equal(rows[0]?.[column('prompt_tokens')], '17')
      t.equal(rows[0]?.[column('estimated')], 'false')
      for (const row of rows)
        for (const cell of row) t.notOk(/^[=+\-@\t\r]/.test(cell), `no cell opens a formula: ${JSON.stringify(cell)}`)
      const all = parseCsv((await get(gateway, '/api/admin/logs/export')).rawPayload.toString('utf8').slice(1))
      t.equal(all[1]?.[column('username')], '李四', 'Chinese text intact')
      t.equal(all.length, hostile.length + 2)
    })

    t.test('export batches continue exactly where the last one ended, ties included', async t => {
      const gateway = await boot(t)
      const start = Date.parse('2025-03-01T00:00:00Z')
      // Seven rows per second, batches of three: every batch boundary falls inside a second.
      const seeds = Array.from({ length: 50 }, (_, n) =>
        record(n, new Date(start + Math.floor(n / 7) * 1000), { model: n % 2 ? 'a' : 'b' }),
      )
      await seed(gateway, seeds)
      const exported: string[] = []
      for await (const batch of exportLogs(() => gateway.db.em(), {}, 3)) {
        t.ok(batch.length <= 3)
        exported.push(...batch.map(row => row.request_id))
      }
      const ids = (await gateway.db.em().find(UsageLog, {}, { orderBy: { createdAt: 'desc', id: 'desc' } })).map(
        row => row.requestId,
      )
      t.same(exported, ids, 'every row once, in list order')
      const onlyA: string[] = []
      for await (const batch of exportLogs(() => gateway.db.em(), { model: 'a', from: new Date(start + 2000) }, 4))
        onlyA.push(...batch.map(row => row.request_id))
      t.same(
        onlyA,
        seeds
          .filter((row, n) => n % 2 === 1 && row.createdAt.getTime() >= start + 2000)
          .map(row => row.requestId)
          .reverse(),
      )
    })

    t.test('stats equal a brute-force count, days in Asia/Shanghai', async t => {
      const gateway = await boot(t)
      await gateway.settings.set('time_zone', 'Asia/Shanghai')
      const now = Date.now()
      const today = localDay(now, 'Asia/Shanghai')
      const [year, month, day] = today.split('-').map(Number) as [number, number, number]
      // Shanghai has no daylight saving: local midnight is 16:00 UTC the day before.
      const midnight = (days: number) => Date.UTC(year, month - 1, day + days) - 8 * 3_600_000
      const weekday = (new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 6) % 7
      const boundaries = [
        midnight(0),
        midnight(-1),
        midnight(-6),
        midnight(-weekday),
        Date.UTC(year, month - 1, 1) - 8 * 3_600_000,
        midnight(1),
        midnight(7 - weekday),
      ]
      const models = ['gpt-4o-mini', 'deepseek-chat', 'qwen-max']
      const seeds: Seed[] = []
      for (let n = 0; n < 160; n++) {
        const at = new Date(now - 40 * DAY + Math.floor(n * 6.1 * 3_600_000) + (n % 13) * 1000)
        seeds.push(
          record(n, at, {
            model: models[n % 3],
            userId: n % 4 === 0 ? null : 1 + (n % 11),
            principalKind: n % 4 === 0 ? 'guest' : 'user',
          }),
        )
      }
      for (const [index, boundary] of boundaries.entries()) {
        // A user per boundary, but guests after now: nobody has called from the future.
        for (const offset of [-1000, 0, 1000]) {
          const at = boundary + offset
          seeds.push(
            record(1000 + index * 3 + offset / 1000, new Date(at), {
              model: 'edge',
              userId: at <= now ? 100 + index : null,
              principalKind: at <= now ? 'user' : 'guest',
            }),
          )
        }
      }
      await seed(gateway, seeds)
      for (let attempt = 0; ; attempt++) {
        const before = Date.now()
        const response = await get(gateway, '/api/admin/stats')
        const after = Date.now()
        if (localDay(before, 'Asia/Shanghai') !== localDay(after, 'Asia/Shanghai') && attempt === 0) continue // midnight passed mid-call
        t.equal(response.statusCode, 200)
        t.same(response.json(), bruteForce(seeds, after, 'Asia/Shanghai'))
        break
      }
    })

    t.test('stats at fixed moments in zones with half hours and daylight saving', async t => {
      const gateway = await boot(t)
      const zones = ['Asia/Kolkata', 'America/New_York', 'Asia/Shanghai', 'UTC']
      const models = ['m-a', 'm-b', 'm-c', 'm-d']
      const seeds: Seed[] = []
      const from = Date.parse('2025-01-25T00:00:00Z')
      for (let n = 0; from + n * 37 * MINUTE < Date.parse('2025-03-12T00:00:00Z'); n++) {
        seeds.push(
          record(n, new Date(from + n * 37 * MINUTE), {
            model: models[n % 4],
            userId: n % 5 === 0 ? null : 1 + (n % 9),
          }),
        )
      }
      // A row on each side of every local midnight of each zone around the moments below.
      for (const zone of zones) {
        const calendar = new ZonedCalendar(zone)
        for (let date = Date.parse('2025-02-20T12:00:00Z'); date < Date.parse('2025-03-12T00:00:00Z'); date += DAY) {
          const midnight = calendar.startOf(calendar.dateOf(date))
          for (const offset of [-1000, 0])
            seeds.push(record(seeds.length, new Date(midnight + offset), { model: 'edge', userId: 50 }))
        }
      }
      // Users with short lives: January only, and one call in the last second of February in Shanghai.
      for (let day = 26; day <= 31; day++)
        seeds.push(record(seeds.length, new Date(`2025-01-${day}T12:00:00Z`), { userId: 200 }))
      seeds.push(record(seeds.length, new Date('2025-02-28T23:59:59+08:00'), { userId: 201 }))
      await seed(gateway, seeds)
      const moments: Array<[string, string]> = [
        ['Asia/Kolkata', '2025-03-03T00:00:30+05:30'], // Monday just after midnight; the month began on Saturday
        ['Asia/Kolkata', '2025-03-02T23:59:59+05:30'], // the last second of a Sunday
        ['America/New_York', '2025-03-10T12:00:00-04:00'], // the 7 days hold the 23-hour day of 9 March
        ['America/New_York', '2025-03-01T00:00:00-05:00'], // the first second of a month
        ['Asia/Shanghai', '2025-02-28T23:59:59+08:00'],
        ['UTC', '2025-03-09T23:59:59Z'],
      ]
      for (const [zone, moment] of moments) {
        const now = new Date(moment)
        t.same(
          await computeStats(gateway.db.em(), { now, timeZone: zone }),
          bruteForce(seeds, now.getTime(), zone),
          `${zone} at ${moment}`,
        )
      }
    })

    t.test('rows and their rollups commit together; the migration fills rollups from older rows', async t => {
      const gateway = await boot(t)
      const connection = gateway.db.em().getConnection()
      await connection.execute('alter table usage_rollups rename to usage_rollups_away')
      gateway.usage.record(record(1, new Date('2025-03-01T10:00:00Z')))
      await t.rejects(gateway.usage.flush(), /usage rows could not be written/)
      t.equal(await gateway.db.em().count(UsageLog), 0, 'no row without its rollup')
      await connection.execute('alter table usage_rollups_away rename to usage_rollups')
      const seeds = [
        record(2, new Date('2025-03-01T10:14:59Z')),
        record(3, new Date('2025-03-01T10:15:00Z'), { model: 'b', userId: 5 }),
        record(4, new Date('2025-03-01T23:59:59.999Z')),
      ]
      await seed(gateway, seeds)
      // A late row of user 1, older than that user's last call, in a batch of its own.
      await seed(gateway, [record(5, new Date('2025-03-01T10:05:00Z'))])
      const rollups = async () =>
        (
          (await connection.execute(
            'select bucket, model, calls, prompt_tokens, completion_tokens from usage_rollups order by bucket, model',
          )) as Array<Record<string, unknown>>
        ).map(row => ({
          ...row,
          prompt_tokens: Number(row.prompt_tokens),
          completion_tokens: Number(row.completion_tokens),
        }))
      const written = await rollups()
      const bucket = (iso: string) => Math.floor(Date.parse(iso) / (15 * MINUTE))
      t.same(
        written,
        [
          {
            bucket: bucket('2025-03-01T10:00:00Z'),
            model: 'gpt-4o-mini',
            calls: 3,
            prompt_tokens: 11 + 12 + 15,
            completion_tokens: 21 + 22 + 25,
          },
          { bucket: bucket('2025-03-01T10:15:00Z'), model: 'b', calls: 1, prompt_tokens: 13, completion_tokens: 23 },
          {
            bucket: bucket('2025-03-01T23:45:00Z'),
            model: 'gpt-4o-mini',
            calls: 1,
            prompt_tokens: 14,
            completion_tokens: 24,
          },
        ],
        'the failed batch was written once, in step with its rollup; the late row added to its bucket',
      )
      await connection.execute('delete from usage_rollups')
      const activity = async () =>
        (
          (await connection.execute('select user_id, last_call_at from usage_user_activity order by user_id')) as Array<
            Record<string, unknown>
          >
        ).map(row => ({ ...row }))
      const lastCalls = await activity()
      t.same(
        lastCalls.map(row => row.user_id),
        [1, 5],
        'one last call per user',
      )
      t.same(
        await gateway.db.em().find(UsageUserActivity, {}, { orderBy: { userId: 'asc' } }),
        [
          { userId: 1, lastCallAt: new Date('2025-03-01T23:59:59Z') },
          { userId: 5, lastCallAt: new Date('2025-03-01T10:15:00Z') },
        ],
        'the newest call of each user, whatever order the rows came in',
      )
      await connection.execute('delete from usage_rollups')
      await connection.execute('delete from usage_user_activity')
      for (const sql of (dialect.name === 'sqlite' ? sqlite0005 : mysql0005).up.filter(sql => sql.startsWith('insert')))
        await connection.execute(sql)
      t.same(await rollups(), written, 'the backfill in SQL buckets rows as the writer does')
      t.same(await activity(), lastCalls, 'and finds the same last calls')
    })
  })
}

t.test('the time_zone setting takes IANA zones only', async t => {
  const gateway = await createTestGateway({ plugins: [fixtures] })
  t.teardown(gateway.close)
  const put = (time_zone: string) =>
    gateway.inject({ method: 'PUT', url: '/api/admin/config', headers: { 'x-who': 'admin' }, payload: { time_zone } })
  const refused = await put('Mars/Olympus_Mons')
  t.equal(refused.statusCode, 400)
  t.match(refused.json().error.message, /time_zone.*an IANA time zone/)
  t.equal((await put('Asia/Kolkata')).statusCode, 200)
  t.equal(
    (await gateway.inject({ method: 'GET', url: '/api/admin/stats', headers: { 'x-who': 'admin' } })).json().time_zone,
    'Asia/Kolkata',
  )
})

t.test('a 100k-row export streams with flat memory', async t => {
  const gateway = await createTestGateway({ plugins: [fixtures], listen: true })
  t.teardown(gateway.close)
  const ROWS = 100_000
  const start = Date.parse('2025-03-01T00:00:00Z')
  // Generated by SQLite itself (rollups are not needed here): the writer would take far longer.
  // Five rows share each second, so batch boundaries fall inside a second.
  await gateway.db
    .em()
    .getConnection()
    .execute(
      `with recursive seq(n) as (select 0 union all select n + 1 from seq where n < ${ROWS - 1})
     insert into usage_logs (created_at, request_id, ip, principal_kind, user_id, username, token_id, model, channel_id, channel_name, prompt_tokens, completion_tokens, estimated, status, error_type, latency_ms, ttfb_ms, endpoint, stream)
     select ? + (n / 5) * 1000, 'req-' || n || '-${'x'.repeat(60)}', '198.51.100.1', 'user', 1, case when n % 10 = 0 then '=王五' else '张三' end, null, 'gpt-4o-mini', 1, 'main', 10, 20, 0, 'success', null, 100, 10, 'chat.completions', 1 from seq`,
      [start],
    )
  t.equal(await gateway.db.em().count(UsageLog), ROWS, 'sanity: seeded')

  v8.setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const live = () => {
    gc()
    const memory = process.memoryUsage()
    return memory.heapUsed + memory.external
  }
  const seen = new Uint8Array(ROWS + 1)
  const baseline = live()
  let bytes = 0
  let peak = 0
  let lines = 0
  let partial = ''
  let probes = 0
  await new Promise<void>((resolve, reject) => {
    http
      .get(`${gateway.url}/api/admin/logs/export`, { headers: { 'x-who': 'admin' } }, response => {
        t.equal(response.statusCode, 200)
        let nextProbe = 1 << 20
        response.on('data', (chunk: Buffer) => {
          bytes += chunk.length
          const text = partial + chunk.toString('utf8')
          const parts = text.split('\r\n')
          partial = parts.pop() as string
          for (const line of parts) {
            lines++
            const id = Number(line.slice(0, line.indexOf(',')))
            if (Number.isInteger(id) && id > 0) seen[id] = (seen[id] as number) + 1
          }
          if (bytes < nextProbe) return
          nextProbe += 3 << 20
          // Stop reading for a while: a server that ignored backpressure would go on reading
          // rows into memory now. The first pause is long enough for it to read them all.
          response.pause()
          setTimeout(
            () => {
              peak = Math.max(peak, live() - baseline)
              probes++
              response.resume()
            },
            probes === 0 ? 1500 : 50,
          )
        })
        response.on('end', resolve)
        response.on('error', reject)
      })
      .on('error', reject)
  })
  t.equal(lines, ROWS + 1, 'a header and every row')
  t.equal(seen.indexOf(0, 1), -1, 'every id arrived')
  t.notOk(
    seen.some(count => count > 1),
    'none twice',
  )
  t.ok(bytes > 15_000_000, `sanity: the CSV is big (${(bytes / 1e6).toFixed(1)} MB)`)
  t.ok(probes >= 4, `memory was probed during the download (${probes} times)`)
  t.ok(
    peak < 8_000_000 && peak < bytes / 4,
    `live memory grew by at most ${(peak / 1e6).toFixed(1)} MB while ${(bytes / 1e6).toFixed(1)} MB streamed`,
  )
})
