import t, { type Test } from 'tap'
import type { EntityManager } from '@mikro-orm/core'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import type { Logger } from '@parley/core'
import {
  createTestGateway,
  missingService,
  pendingSchemaChanges,
  testServices,
  type TestGateway,
} from '@parley/core/testing'
import { UsageLog } from '../src/usage/entities.js'
import { estimatePromptTokens, estimateTokens } from '../src/usage/tokens.js'
import { UsageWriter, type UsageRecord, type UsageWriterOptions } from '../src/usage/writer.js'

const dialects = [
  { name: 'sqlite', skip: false as string | false, mysqlUrl: undefined as string | undefined },
  { name: 'mysql', skip: missingService('mysql'), mysqlUrl: testServices.mysqlUrl },
]

const row = (n: number, extra: Partial<UsageRecord> = {}): UsageRecord => ({
  requestId: `req-${n}`,
  ip: '203.0.113.7',
  principalKind: 'user',
  userId: 7,
  username: 'secret-ada',
  model: 'gpt-4o-mini',
  channelId: 1,
  channelName: 'main',
  promptTokens: 12,
  completionTokens: 34,
  estimated: false,
  status: 'success',
  latencyMs: 250,
  ttfbMs: 40,
  endpoint: 'chat.completions',
  stream: true,
  ...extra,
})

/** A pino logger whose JSON lines land in an array, to assert on what the writer logs. */
function capture(): { log: Logger; text: () => string } {
  const lines: string[] = []
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) }) as unknown as Logger
  return { log, text: () => lines.join('') }
}

/**
 * An EntityManager that reports each multi-row insert of usage rows (its row count) and can
 * hold it before it runs (`before`), as a slow database would. The writer runs its SQL on a
 * driver connection borrowed from the pool, so that is where the inserts are watched.
 */
function watched(source: () => EntityManager, before: (rows: number) => Promise<void> | void = () => undefined) {
  const inserts: number[] = []
  const proxy = <T extends object>(target: T, key: string | symbol, replace: (original: never) => unknown): T =>
    new Proxy(target, {
      get: (object, name, receiver) =>
        name === key ? replace(Reflect.get(object, name, receiver) as never) : Reflect.get(object, name, receiver),
    })
  type Done = (error: Error | null) => void
  type Driver = Record<'run' | 'query', (sql: string, params: unknown[], done: Done) => void>
  // sqlite3 runs statements with `run`, mysql2 with `query`; the batch is one JSON array parameter.
  const watchDriver = (connection: Driver): Driver => {
    const watch = (original: Driver['run']) => (sql: string, params: unknown[], done: Done) => {
      if (!sql.includes('insert into `usage_logs`')) return original.call(connection, sql, params, done)
      const rows = (JSON.parse(params[0] as string) as unknown[]).length
      Promise.resolve(before(rows)).then(
        () => {
          inserts.push(rows)
          original.call(connection, sql, params, done)
        },
        (error: Error) => done(error),
      )
    }
    return proxy(proxy(connection, 'run', watch), 'query', watch)
  }
  type Pool = { acquireConnection(): Promise<Driver>; releaseConnection(connection: Driver): unknown }
  // The pool takes back the connection it lent, not the watching stand-in.
  const lent = new WeakMap<Driver, Driver>()
  const watchPool = (pool: Pool): Pool =>
    proxy(
      proxy(pool, 'acquireConnection', () => async () => {
        const connection = await pool.acquireConnection()
        const watching = watchDriver(connection)
        lent.set(watching, connection)
        return watching
      }),
      'releaseConnection',
      () => (connection: Driver) => pool.releaseConnection(lent.get(connection) ?? connection),
    )
  const em = (): EntityManager => {
    const real = source() as EntityManager & { getConnection(): { getKnex(): { client: Pool } } }
    return proxy(real, 'getConnection', (getConnection: () => { getKnex(): { client: Pool } }) => () => {
      const connection = getConnection.call(real)
      return proxy(connection, 'getKnex', () => () => {
        const knex = connection.getKnex()
        return proxy(knex, 'client', () => watchPool(knex.client))
      })
    })
  }
  return { em, inserts }
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

for (const dialect of dialects) {
  const boot = async (t: Test): Promise<TestGateway> => {
    const gateway = await createTestGateway({ mysqlUrl: dialect.mysqlUrl })
    t.teardown(gateway.close)
    return gateway
  }
  const writer = (t: Test, options: Partial<UsageWriterOptions> & Pick<UsageWriterOptions, 'em'>): UsageWriter => {
    const usage = new UsageWriter({
      log: pino({ level: 'silent' }) as unknown as Logger,
      flushIntervalMs: 60_000,
      ...options,
    })
    t.teardown(() => usage.close())
    return usage
  }
  const stored = async (gateway: TestGateway): Promise<string[]> => {
    const rows = (await gateway.db
      .em()
      .getConnection()
      .execute('select request_id from usage_logs order by id')) as Array<{ request_id: string }>
    return rows.map(r => r.request_id)
  }
  const renameTable = (gateway: TestGateway, from: string, to: string) =>
    gateway.db.em().getConnection().execute(`alter table ${from} rename to ${to}`)

  t.test(`${dialect.name}: usage logs`, { skip: dialect.skip }, async t => {
    t.test('the migration matches the entity', async t => {
      const gateway = await boot(t)
      t.same(await pendingSchemaChanges(gateway), [], 'schema equals entities')
      t.equal(await gateway.db.em().count(UsageLog), 0)
    })

    t.test('a row round-trips with every field', async t => {
      const gateway = await boot(t)
      const usage = writer(t, { em: () => gateway.db.em() })
      const createdAt = new Date('2025-03-04T05:06:07.000Z')
      usage.record(
        row(1, {
          createdAt,
          estimated: true,
          status: 'error',
          errorType: 'upstream_error',
          ttfbMs: null,
          tokenId: 3,
          principalKind: 'api_token',
        }),
      )
      await usage.flush()
      const [saved] = await gateway.db.em().find(UsageLog, {})
      t.match(saved, {
        createdAt,
        requestId: 'req-1',
        ip: '203.0.113.7',
        principalKind: 'api_token',
        userId: 7,
        username: 'secret-ada',
        tokenId: 3,
        model: 'gpt-4o-mini',
        channelId: 1,
        channelName: 'main',
        promptTokens: 12,
        completionTokens: 34,
        estimated: true,
        status: 'error',
        errorType: 'upstream_error',
        latencyMs: 250,
        ttfbMs: null,
        endpoint: 'chat.completions',
        stream: true,
      })
      t.type(saved?.id, 'number')
    })

    t.test(
      'text is stored as sent (quotes, escapes, line breaks, emoji), a NUL or half a surrogate pair as U+FFFD',
      async t => {
        const gateway = await boot(t)
        const usage = writer(t, { em: () => gateway.db.em() })
        const odd = [
          `it's "quoted" \\ back\\slashed`,
          'two\nlines\tand\u0000nul',
          'ünï 模型 😀',
          'half \uD83D pair',
          '[1, {"a": null}]',
          '?',
        ]
        odd.forEach((text, n) =>
          usage.record(
            row(n, { username: text, channelName: text, model: `m-${text}`, errorType: null, userId: null }),
          ),
        )
        await usage.flush()
        const saved = await gateway.db.em().find(UsageLog, {}, { orderBy: { id: 'asc' } })
        const expected = odd.map(text => text.toWellFormed().replaceAll('\0', '\uFFFD'))
        t.same([expected[1], expected[3]], ['two\nlines\tand\uFFFDnul', 'half \uFFFD pair'])
        t.same(
          saved.map(r => [r.username, r.channelName, r.model, r.errorType, r.userId]),
          expected.map(text => [text, text, `m-${text}`, null, null]),
        )
        const rollups = (await gateway.db
          .em()
          .getConnection()
          .execute('select model, calls from usage_rollups')) as Array<{ model: string; calls: number }>
        t.same(
          rollups.map(r => r.model).sort(),
          expected.map(text => `m-${text}`).sort(),
          'the stats count each model under the name its rows carry',
        )
      },
    )

    t.test('rows are written in multi-row batches, and close() writes the rest', async t => {
      const gateway = await boot(t)
      const { em, inserts } = watched(() => gateway.db.em())
      const metrics = new Registry()
      const usage = writer(t, { em, batchSize: 10, maxBatchSize: 10, metrics })
      for (let n = 0; n < 25; n++) usage.record(row(n))
      await waitFor(() => usage.stats.written === 20)
      t.same(
        inserts,
        [10, 10],
        'a full batch triggers the write, full batches go back to back; no insert exceeds the largest batch',
      )
      for (let n = 25; n < 28; n++) usage.record(row(n))
      await new Promise(resolve => setImmediate(resolve))
      t.equal(usage.stats.buffered, 8, 'a partial batch waits for the timer, however it came about')
      await usage.close()
      t.same(inserts, [10, 10, 8])
      t.same(
        await stored(gateway),
        Array.from({ length: 28 }, (_, n) => `req-${n}`),
        'every row, in order',
      )
      const written = await metrics.getSingleMetric('parley_usage_rows_written_total')?.get()
      t.equal(written?.values[0]?.value, 28)
      usage.record(row(99))
      t.equal(usage.stats.dropped, 1, 'a row after close is counted as dropped, not thrown')
    })

    t.test('the timer writes a partial batch', async t => {
      const gateway = await boot(t)
      const usage = writer(t, { em: () => gateway.db.em(), flushIntervalMs: 20 })
      usage.record(row(1))
      usage.record(row(2))
      await waitFor(async () => (await stored(gateway)).length === 2)
      t.equal(usage.stats.buffered, 0)
    })

    t.test('record() returns at once while the database is slow', async t => {
      const gateway = await boot(t)
      let release!: () => void
      const gate = new Promise<void>(resolve => (release = resolve))
      const { em, inserts } = watched(
        () => gateway.db.em(),
        () => gate,
      )
      const usage = writer(t, { em, batchSize: 1 })
      usage.record(row(0))
      await new Promise(resolve => setImmediate(resolve))
      const started = performance.now()
      for (let n = 1; n <= 1000; n++) usage.record(row(n))
      const elapsed = performance.now() - started
      t.ok(elapsed < 100, `1000 records took ${elapsed.toFixed(1)} ms with the insert stuck`)
      t.equal(usage.stats.written, 0, 'nothing written yet')
      t.equal(usage.stats.buffered, 1000, 'the rest wait behind the slow insert')
      release()
      await usage.close()
      t.equal((await stored(gateway)).length, 1001)
      t.same(
        inserts,
        [1, ...Array<number>(100).fill(10)],
        'the backlog goes in batches of the largest size (10 × batch size by default)',
      )
    })

    t.test('record() never throws when the database is down', async t => {
      const down = await createTestGateway({ mysqlUrl: dialect.mysqlUrl })
      await down.close()
      const { log, text } = capture()
      const usage = new UsageWriter({
        em: () => down.db.em(),
        log,
        batchSize: 2,
        flushIntervalMs: 60_000,
        retryBaseMs: 60_000,
      })
      t.doesNotThrow(() => {
        for (let n = 0; n < 5; n++) usage.record(row(n))
      })
      await waitFor(() => usage.stats.failures === 1)
      t.equal(usage.stats.buffered, 5, 'rows kept for a retry')
      t.doesNotThrow(() => usage.record(row(5)))
      t.doesNotThrow(() => usage.record({} as UsageRecord), 'not even for a malformed record')
      await t.rejects(usage.flush(), /usage rows could not be written/)
      await usage.close()
      t.equal(usage.stats.written, 0)
      t.equal(usage.stats.buffered, 0)
      t.match(text(), /lost/, 'the loss at shutdown is logged')
      t.notMatch(text(), /secret-ada|req-\d|203\.0\.113\.7/, 'no row content in any log line')
    })

    t.test('an outage keeps the rows and the writer catches up after it', async t => {
      const gateway = await boot(t)
      const { log, text } = capture()
      const usage = writer(t, { em: () => gateway.db.em(), log, flushIntervalMs: 20, retryBaseMs: 20, retryMaxMs: 50 })
      await renameTable(gateway, 'usage_logs', 'usage_logs_away')
      for (let n = 0; n < 4; n++) usage.record(row(n))
      await waitFor(() => usage.stats.failures >= 2)
      t.equal(usage.stats.buffered, 4, 'nothing lost while down')
      for (let n = 4; n < 6; n++) usage.record(row(n))
      await renameTable(gateway, 'usage_logs_away', 'usage_logs')
      await waitFor(() => usage.stats.written === 6)
      t.equal(usage.stats.failures, 0, 'backoff resets after a success')
      t.same(await stored(gateway), ['req-0', 'req-1', 'req-2', 'req-3', 'req-4', 'req-5'], 'in order, once each')
      t.match(text(), /will retry/)
      t.notMatch(text(), /secret-ada|req-\d|203\.0\.113\.7/, 'no row content in any log line')
    })

    t.test('a full buffer drops the oldest rows and counts them', async t => {
      const gateway = await boot(t)
      const metrics = new Registry()
      const { log, text } = capture()
      const usage = writer(t, {
        em: () => gateway.db.em(),
        log,
        metrics,
        batchSize: 5,
        maxBuffered: 5,
        flushIntervalMs: 20,
        retryBaseMs: 60_000,
      })
      await renameTable(gateway, 'usage_logs', 'usage_logs_away')
      for (let n = 0; n < 5; n++) usage.record(row(n))
      await waitFor(() => usage.stats.failures === 1)
      for (let n = 5; n < 8; n++) usage.record(row(n))
      t.equal(usage.stats.dropped, 3)
      t.equal(usage.stats.buffered, 5)
      const dropped = await metrics.getSingleMetric('parley_usage_rows_dropped_total')?.get()
      t.equal(dropped?.values[0]?.value, 3)
      await waitFor(() => /oldest rows dropped/.test(text()))
      await renameTable(gateway, 'usage_logs_away', 'usage_logs')
      await usage.close()
      t.same(await stored(gateway), ['req-3', 'req-4', 'req-5', 'req-6', 'req-7'], 'the newest rows survive')
    })
  })
}

t.test('the entity has no column that could hold prompt or answer text', async t => {
  const gateway = await createTestGateway()
  t.teardown(gateway.close)
  const meta = gateway.db.orm.getMetadata().get(UsageLog.meta.className)
  const columns = meta.props.flatMap(prop => prop.fieldNames)
  t.ok(columns.includes('prompt_tokens'), 'sanity: the metadata lists the columns')
  t.same(
    columns.filter(c => /prompt|content|message|answer|text|body/.test(c) && !/_tokens$/.test(c)),
    [],
  )
  t.same(
    meta.props.filter(p => /text|blob|json/i.test(p.type)).map(p => p.name),
    [],
    'no text or json column',
  )
  const strings = meta.props.filter(p => p.runtimeType === 'string')
  t.ok(strings.length > 0, 'sanity: string columns found')
  t.same(
    strings.filter(p => !(Number(p.length) > 0 && Number(p.length) <= 191)).map(p => p.name),
    [],
    'every string is short and bounded',
  )
})

t.test('long strings are fitted to their columns instead of failing the batch', async t => {
  const gateway = await createTestGateway()
  t.teardown(gateway.close)
  const usage = new UsageWriter({ em: () => gateway.db.em(), log: pino({ level: 'silent' }) as unknown as Logger })
  usage.record(
    row(1, { requestId: 'r'.repeat(500), username: 'u'.repeat(63) + '😀', promptTokens: -5, latencyMs: Number.NaN }),
  )
  await usage.close()
  const [saved] = await gateway.db.em().find(UsageLog, {})
  t.equal(saved?.requestId.length, 128)
  t.equal(saved?.username, 'u'.repeat(63), 'never half an emoji')
  t.equal(saved?.promptTokens, 0)
  t.equal(saved?.latencyMs, 0)
})

t.test('a row without a client address is still written (record() cannot fail)', async t => {
  const gateway = await createTestGateway()
  t.teardown(gateway.close)
  const usage = new UsageWriter({ em: () => gateway.db.em(), log: pino({ level: 'silent' }) as unknown as Logger })
  // What a caller that read `request.ip` after its client left would pass.
  t.doesNotThrow(() => usage.record(row(1, { ip: undefined as unknown as string })))
  await usage.close()
  const saved = await gateway.db.em().find(UsageLog, {})
  t.equal(saved.length, 1)
  t.equal(saved[0]?.ip, '')
})

t.test('token estimates', async t => {
  t.equal(estimateTokens('', 'gpt-4o'), 0)
  t.equal(estimateTokens('hello world', 'gpt-4o'), 2)
  t.equal(estimateTokens('user', 'gpt-4o'), 1)
  // Exact counts of OpenAI's encodings: the estimate is a real tokenizer, not a heuristic.
  t.equal(estimateTokens('The quick brown fox jumps over the lazy dog.', 'gpt-4o'), 10)
  t.equal(estimateTokens('人工智能正在改变世界', 'gpt-4o'), 5, 'o200k_base merges common Chinese')
  t.equal(estimateTokens('人工智能正在改变世界', 'gpt-4-0613'), 11, 'cl100k_base for older models')
  t.equal(estimateTokens('antidisestablishmentarianism', 'deepseek-r1'), 6, 'other families use o200k_base')
  // OpenAI: 3 per message + role + content, and 3 to prime the reply.
  t.equal(estimatePromptTokens([{ role: 'user', content: 'hello world' }], 'gpt-4o'), 3 + 1 + 2 + 3)
  t.equal(estimatePromptTokens([{ role: 'user', name: 'ada', content: '' }], 'gpt-4o'), 3 + 1 + 1 + 1 + 3)
  t.equal(
    estimatePromptTokens(
      [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'hello world' },
            { type: 'image_url', image_url: { url: 'data:,', detail: 'low' } },
          ],
        },
      ],
      'gpt-4o',
    ),
    3 + 1 + 2 + 85 + 3,
  )
  t.equal(estimatePromptTokens([], 'gpt-4o'), 3)
})

t.test('the gateway owns one writer and flushes it when it stops', async t => {
  const { createGateway, loadConfig } = await import('@parley/core')
  const dataDir = t.testdir()
  const config = loadConfig({
    file: false,
    env: {},
    overrides: { env: 'test', data_dir: dataDir, log: { level: 'silent' } },
  })
  const first = await createGateway({ config })
  await first.start()
  first.usage.record({
    requestId: 'req-at-shutdown',
    ip: '203.0.113.9',
    principalKind: 'guest',
    model: 'gpt-4o',
    promptTokens: 3,
    completionTokens: 4,
    estimated: false,
    status: 'success',
    latencyMs: 12,
    endpoint: 'chat.completions',
    stream: false,
  })
  await first.stop()
  const second = await createGateway({ config })
  await second.start()
  t.teardown(second.stop)
  const rows = await second.db.em().find(UsageLog, {})
  t.same(
    rows.map(r => [r.requestId, r.promptTokens, r.completionTokens]),
    [['req-at-shutdown', 3, 4]],
    'the buffered row was written at shutdown',
  )
})
