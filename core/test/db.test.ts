import net from 'node:net'
import t from 'tap'
import { definePlugin, defineEntity, type DialectMigrations } from '@parley/core'
import {
  createTempMysqlDatabase,
  createTestGateway,
  freePort,
  missingService,
  pendingSchemaChanges,
  testServices,
} from '@parley/core/testing'
import notes from './fixtures/notes-plugin/index.js'

// Every dialect: migrate from empty, then prove nothing is left to diff against the entities.
const dialects = [
  { name: 'sqlite', skip: false as string | false, mysqlUrl: undefined as string | undefined },
  { name: 'mysql', skip: missingService('mysql'), mysqlUrl: testServices.mysqlUrl },
]

for (const dialect of dialects) {
  t.test(`${dialect.name}: migrations from empty match the entities exactly`, { skip: dialect.skip }, async t => {
    const gateway = await createTestGateway({ plugins: [notes], mysqlUrl: dialect.mysqlUrl, start: false })
    t.teardown(gateway.close)
    t.equal(gateway.db.dialect, dialect.name)
    t.same(
      await gateway.db.pending(),
      [
        'core/0001_system_config',
        'core/0002_catalog',
        'core/0003_usage_logs',
        'core/0004_blocklist',
        'core/0005_usage_stats',
        'core/0006_channel_image_delivery',
        'core/0007_channel_key_disable',
        'core/0008_channel_timeouts',
        'core/0009_usage_log_filters',
        'core/0010_usage_user_totals',
        'core/0011_usage_user_index',
        'notes/0001_notes',
      ],
      'core first, then plugins in order',
    )
    await gateway.start()
    t.same(await gateway.db.pending(), [], 'all applied')
    t.same(await pendingSchemaChanges(gateway), [], 'schema equals entities: nothing left to diff')
    t.same(await gateway.db.migrate(), [], 'a second run applies nothing')
  })

  t.test(`${dialect.name}: a step added later is found and applied`, { skip: dialect.skip }, async t => {
    // A deployment that already migrated, restarted with a plugin that brings a step: the plain
    // read of the migrations table must report it, and the migrator must then apply only it.
    const first = await createTestGateway({ plugins: [notes], mysqlUrl: dialect.mysqlUrl })
    t.teardown(first.close)
    t.same(await first.db.pending(), [], 'the first start applied everything')
    const table = {
      sqlite: 'create table `later_rows` (`id` integer not null primary key autoincrement);',
      mysql: 'create table `later_rows` (`id` int unsigned not null auto_increment primary key) engine = InnoDB;',
    }
    const later = definePlugin({
      id: 'later',
      version: '1.0.0',
      setup(ctx) {
        ctx.db.migrations({
          sqlite: [{ name: '0001_later', up: [table.sqlite], down: ['drop table `later_rows`'] }],
          mysql: [{ name: '0001_later', up: [table.mysql], down: ['drop table `later_rows`'] }],
        })
      },
    })
    const second = await createTestGateway({ plugins: [notes, later], sharedWith: first, start: false })
    t.teardown(second.close)
    t.same(await second.db.pending(), ['later/0001_later'], 'only the new step is pending')
    t.same(await second.db.migrate(), ['later/0001_later'], 'and only it is applied')
    t.same(await second.db.pending(), [], 'nothing is left')
    t.same(await second.db.migrate(), [], 'a second run applies nothing')
    t.same(await first.db.pending(), [], 'the other instance, which does not know the step, sees nothing to do')
  })

  t.test(`${dialect.name}: a missing migration is detected`, { skip: dialect.skip }, async t => {
    // Same entity as the fixture plus a column no migration creates: the check must notice.
    const drifted = defineEntity({
      name: 'DriftNote',
      tableName: 'drift_notes',
      properties: p => ({
        id: p.integer().primary().autoincrement(),
        title: p.string().length(100),
        extra: p.integer().nullable(),
      }),
    })
    const sql = {
      sqlite: 'create table `drift_notes` (`id` integer not null primary key autoincrement, `title` text not null);',
      mysql:
        'create table `drift_notes` (`id` int unsigned not null auto_increment primary key, `title` varchar(100) not null) default character set utf8mb4 engine = InnoDB;',
    }
    const migrations: DialectMigrations = {
      sqlite: [{ name: '0001_drift', up: [sql.sqlite] }],
      mysql: [{ name: '0001_drift', up: [sql.mysql] }],
    }
    const plugin = definePlugin({
      id: 'drift',
      version: '1.0.0',
      setup(ctx) {
        ctx.db.entities([drifted])
        ctx.db.migrations(migrations)
      },
    })
    const gateway = await createTestGateway({ plugins: [plugin], mysqlUrl: dialect.mysqlUrl })
    t.teardown(gateway.close)
    const changes = await pendingSchemaChanges(gateway)
    t.equal(changes.length, 1, 'one statement missing')
    t.match(changes[0], /extra/, 'it adds the column the migration forgot')
  })

  t.test(`${dialect.name}: fixture plugin stores rows and its job updates them`, { skip: dialect.skip }, async t => {
    const gateway = await createTestGateway({ plugins: [notes], mysqlUrl: dialect.mysqlUrl })
    t.teardown(gateway.close)
    const created = await gateway.inject({ method: 'POST', url: '/api/notes', payload: { body: 'first' } })
    t.equal(created.statusCode, 201)
    t.match(created.json(), { id: Number, body: 'first', archived: false })
    const queued = await gateway.inject({ method: 'POST', url: '/api/notes/archive' })
    t.equal(queued.statusCode, 202)
    await waitFor(async () => (await gateway.inject({ url: '/api/notes' })).json().items[0]?.archived === true)
    t.same((await gateway.inject({ url: '/api/notes' })).json(), {
      items: [{ id: 1, body: 'first', archived: true }],
      total: 1,
    })
  })
}

t.test('migrations must list the same steps for both dialects', async t => {
  const plugin = definePlugin({
    id: 'lopsided',
    version: '1.0.0',
    setup(ctx) {
      ctx.db.migrations({ sqlite: [{ name: '0001_a', up: ['select 1'] }], mysql: [] })
    },
  })
  await t.rejects(createTestGateway({ plugins: [plugin] }), {
    code: 'PARLEY_ERR_PLUGIN_SETUP',
    message: /lopsided.*differ between dialects/s,
  })
})

t.test('mysql: waits for a server that is still starting', { skip: missingService('mysql') }, async t => {
  // A port that refuses connections for a while, then forwards to the real server.
  const target = new URL(testServices.mysqlUrl as string)
  const port = await freePort()
  let proxy: net.Server | undefined
  const opened = setTimeout(() => {
    proxy = net.createServer(client => {
      const upstream = net.connect(Number(target.port || 3306), target.hostname)
      client.pipe(upstream).pipe(client)
      client.on('error', () => upstream.destroy())
      upstream.on('error', () => client.destroy())
    })
    proxy.listen(port, '127.0.0.1')
  }, 2500)
  t.teardown(() => {
    clearTimeout(opened)
    proxy?.close()
  })
  // The fresh database is made through the real port; the gateway connects through the late one.
  const temp = await createTempMysqlDatabase(testServices.mysqlUrl as string)
  t.teardown(temp.drop)
  const url = new URL(temp.url)
  url.port = String(port)
  const started = Date.now()
  const gateway = await createTestGateway({ config: { database: { url: url.toString(), connect_timeout_ms: 15_000 } } })
  t.teardown(gateway.close)
  t.ok(Date.now() - started >= 2000, 'it waited for the server')
  t.equal((await gateway.inject({ url: '/readyz' })).statusCode, 200)
})

t.test(
  'mysql: gives up after the timeout with a clear error and no password',
  { skip: missingService('mysql') },
  async t => {
    const port = await freePort()
    const { loadConfig, createGateway } = await import('@parley/core')
    const config = loadConfig({
      file: false,
      env: {},
      overrides: {
        env: 'test',
        log: { level: 'silent' },
        data_dir: t.testdir(),
        database: { url: `mysql://root:hunter2-secret@127.0.0.1:${port}/test`, connect_timeout_ms: 1500 },
      },
    })
    const started = Date.now()
    const error = (await createGateway({ config }).catch(e => e)) as Error & { code?: string }
    t.equal(error.code, 'PARLEY_ERR_DB_UNREACHABLE')
    t.match(error.message, /not reachable after 2 s/)
    t.notMatch(error.message, /hunter2/, 'the password never appears')
    t.ok(Date.now() - started < 6000, 'bounded by the timeout')
  },
)

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise(resolve => setTimeout(resolve, 25))
  }
}
