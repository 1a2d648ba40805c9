import t, { type Test } from 'tap'
import { definePlugin } from '@parley/core'
import { createTestGateway, headerAuth, missingService, testServices, type TestGateway } from '@parley/core/testing'

// A stand-in auth (x-who header) and a provider with one secret setting: the catalog is core's,
// so its tests must not depend on the identity plugin.
const auth = headerAuth({
  admin: { kind: 'user', userId: '1', role: 'admin', group: 'default', name: 'ada' },
  user: { kind: 'user', userId: '2', role: 'user', group: 'default', name: 'bob' },
})
const fixtures = definePlugin({
  id: 'catalog-fixtures',
  version: '1.0.0',
  setup(ctx) {
    ctx.providers.register('mock', {
      secretSettings: ['private_key'],
      async *chat() {
        yield { type: 'done', finishReason: 'stop' }
      },
    })
  },
})

const SECRET = 'sk-live-abcdefghijklmnopqrstuvwxyz0123456789'
const PUBLIC_BASE = 'https://1.1.1.1/v1'

const dialects = [
  { name: 'sqlite', skip: false as string | false, mysqlUrl: undefined as string | undefined },
  { name: 'mysql', skip: missingService('mysql'), mysqlUrl: testServices.mysqlUrl },
]

for (const dialect of dialects) {
  const boot = async (t: Test): Promise<TestGateway> => {
    const gateway = await createTestGateway({
      plugins: [auth, fixtures],
      mysqlUrl: dialect.mysqlUrl,
      config: { upstream: { allow_loopback: false } },
    })
    t.teardown(gateway.close)
    return gateway
  }
  const call = (
    gateway: TestGateway,
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    payload?: object,
    who = 'admin',
  ) => gateway.inject({ method, url, payload, headers: who ? { 'x-who': who } : {} })
  const createChannel = (gateway: TestGateway, extra: object = {}) =>
    call(gateway, 'POST', '/api/admin/channels', {
      name: 'OpenAI main',
      provider: 'mock',
      base_url: PUBLIC_BASE,
      keys: [SECRET, 'sk-second-key-0000000000000000'],
      models: ['gpt-4o-mini', { model: 'smart', upstream_model: 'gpt-4o' }],
      groups: ['default', 'vip'],
      settings: { private_key: '-----BEGIN PRIVATE KEY-----secret', region: 'cn' },
      ...extra,
    })

  t.test(`${dialect.name}: catalog admin API`, { skip: dialect.skip }, async t => {
    t.test('only admins may touch it', async t => {
      const gateway = await boot(t)
      t.equal((await call(gateway, 'GET', '/api/admin/channels', undefined, '')).statusCode, 401)
      t.equal((await call(gateway, 'GET', '/api/admin/channels', undefined, 'user')).statusCode, 403)
      t.equal((await createChannel(gateway, {})).statusCode, 201)
      for (const url of ['/api/admin/models', '/api/admin/chat-routes', '/api/admin/channels/1']) {
        t.equal((await call(gateway, 'GET', url, undefined, 'user')).statusCode, 403, url)
      }
    })

    t.test('a channel is created with sealed keys and secret settings, shown only as hints', async t => {
      const gateway = await boot(t)
      const changes: string[] = []
      await gateway.kv.subscribe('catalog:changed', message => void changes.push(message))
      const created = await createChannel(gateway)
      t.equal(created.statusCode, 201)
      const channel = created.json()
      t.match(channel, {
        id: Number,
        name: 'OpenAI main',
        provider: 'mock',
        base_url: PUBLIC_BASE,
        models: [
          { model: 'gpt-4o-mini', upstream_model: 'gpt-4o-mini' },
          { model: 'smart', upstream_model: 'gpt-4o' },
        ],
        rpm_limit: 0,
        groups: ['default', 'vip'],
        priority: 0,
        weight: 1,
        enabled: true,
        settings: { region: 'cn', private_key: { hint: String } },
      })
      t.equal(channel.keys.length, 2)
      t.match(channel.keys[0], { id: Number, hint: /…6789$/, enabled: true })
      t.notMatch(created.body, SECRET, 'the key never comes back')
      t.notMatch(created.body, 'BEGIN PRIVATE KEY', 'nor the secret setting')
      const stored = JSON.stringify(await gateway.db.em().getConnection().execute('select * from catalog_channel_keys'))
      t.notMatch(stored, SECRET, 'the database holds no plaintext key')
      const settings = JSON.stringify(
        await gateway.db.em().getConnection().execute('select settings from catalog_channels'),
      )
      t.notMatch(settings, 'BEGIN PRIVATE KEY', 'nor a plaintext secret setting')
      const models = (await call(gateway, 'GET', '/api/admin/models')).json()
      t.same(
        models.items.map((m: { name: string }) => m.name),
        ['gpt-4o-mini', 'smart'],
        'models a channel names join the catalog',
      )
      await new Promise(resolve => setTimeout(resolve, 20))
      t.ok(changes.length >= 1, 'the change is announced for every instance')
    })

    t.test('bad input is refused and stores nothing', async t => {
      const gateway = await boot(t)
      const cases: Array<[string, object, number, string]> = [
        ['unknown provider', { provider: 'nope' }, 400, 'unknown_provider'],
        ['loopback base URL', { base_url: 'http://127.0.0.1:8080/v1' }, 400, 'invalid_request'],
        ['metadata base URL', { base_url: 'http://169.254.169.254/latest' }, 400, 'invalid_request'],
        ['private base URL', { base_url: 'http://10.0.0.5/v1' }, 400, 'invalid_request'],
        ['not http', { base_url: 'file:///etc/passwd' }, 400, 'invalid_request'],
        ['unknown field', { colour: 'red' }, 400, 'invalid_request'],
        ['model twice', { models: ['a', 'a'] }, 400, 'invalid_request'],
        ['weight 0', { weight: 0 }, 400, 'invalid_request'],
      ]
      for (const [label, extra, status, type] of cases) {
        const response = await createChannel(gateway, extra)
        t.equal(response.statusCode, status, label)
        t.equal(response.json().error?.type, type, label)
      }
      t.equal((await call(gateway, 'GET', '/api/admin/channels')).json().total, 0)
      t.equal((await createChannel(gateway)).statusCode, 201)
      t.equal((await createChannel(gateway)).json().error.type, 'channel_name_taken')
    })

    t.test('allow_private_upstreams admits a LAN model server, never loopback', async t => {
      const gateway = await boot(t)
      await gateway.settings.set('allow_private_upstreams', true)
      t.equal((await createChannel(gateway, { base_url: 'http://10.0.0.5:11434/v1' })).statusCode, 201)
      t.equal((await createChannel(gateway, { name: 'local', base_url: 'http://127.0.0.1:11434/v1' })).statusCode, 400)
    })

    t.test('update: keys added, disabled and removed; secrets kept unless replaced', async t => {
      const gateway = await boot(t)
      const channel = (await createChannel(gateway)).json()
      const [first, second] = channel.keys as Array<{ id: number }>
      const updated = await call(gateway, 'PUT', `/api/admin/channels/${channel.id}`, {
        keys: [{ id: first?.id, enabled: false }, 'sk-third-key-1111111111111111'],
        settings: { region: 'us' },
        priority: 5,
      })
      t.equal(updated.statusCode, 200)
      const view = updated.json()
      t.same(
        view.keys.map((k: { enabled: boolean }) => k.enabled),
        [false, true],
      )
      t.notOk(
        view.keys.some((k: { id: number }) => k.id === second?.id),
        'an unlisted key is removed',
      )
      t.match(
        view.settings,
        { region: 'us', private_key: { hint: String } },
        'the secret setting survives an update that does not resend it',
      )
      t.equal(view.priority, 5)
      const foreign = await call(gateway, 'PUT', `/api/admin/channels/${channel.id}`, { keys: [{ id: 9999 }] })
      t.equal(foreign.statusCode, 400, 'a key id of another channel is refused')
      t.equal((await call(gateway, 'PUT', '/api/admin/channels/999', { priority: 1 })).statusCode, 404)
    })

    t.test('a chat route needs an enabled channel that serves the group', async t => {
      const gateway = await boot(t)
      const channel = (await createChannel(gateway)).json()
      const route = (body: object) => call(gateway, 'POST', '/api/admin/chat-routes', body)
      t.equal((await route({ group_name: 'vip', channel_id: 999 })).json().error.type, 'channel_not_found')
      t.equal((await route({ group_name: 'gold', channel_id: channel.id })).json().error.type, 'channel_group_mismatch')
      t.equal((await route({ group_name: 'vip', channel_id: channel.id })).statusCode, 201)
      t.equal((await route({ group_name: 'vip', channel_id: channel.id })).statusCode, 200, 'saving again updates')
      const routes = (await call(gateway, 'GET', '/api/admin/chat-routes')).json().items
      t.equal(routes.length, 1)
      t.match(routes[0], {
        group_name: 'vip',
        channel_id: channel.id,
        channel_name: 'OpenAI main',
        updated_at: /^\d{4}-\d\d-\d\dT/,
      })
      t.equal(
        (await call(gateway, 'PUT', `/api/admin/channels/${channel.id}`, { enabled: false })).json().error.type,
        'channel_in_use',
        'a routed channel cannot be disabled',
      )
      t.equal(
        (await call(gateway, 'PUT', `/api/admin/channels/${channel.id}`, { groups: ['default'] })).json().error.type,
        'channel_in_use',
        'nor stop serving the routed group',
      )
      t.equal((await call(gateway, 'DELETE', `/api/admin/channels/${channel.id}`)).json().error.type, 'channel_in_use')
      t.equal((await call(gateway, 'DELETE', '/api/admin/chat-routes/vip')).statusCode, 204)
      t.equal((await call(gateway, 'DELETE', '/api/admin/chat-routes/vip')).statusCode, 404)
      t.equal((await call(gateway, 'PUT', `/api/admin/channels/${channel.id}`, { enabled: false })).statusCode, 200)
      t.equal((await route({ group_name: 'vip', channel_id: channel.id })).json().error.type, 'channel_disabled')
    })

    t.test('models: change, and removal only when no channel serves them', async t => {
      const gateway = await boot(t)
      const channel = (await createChannel(gateway)).json()
      const changed = await call(gateway, 'PUT', '/api/admin/models/smart', { reasoning: true, display_name: 'Smart' })
      t.match(changed.json(), { name: 'smart', display_name: 'Smart', reasoning: true, channels: [channel.id] })
      t.equal((await call(gateway, 'DELETE', '/api/admin/models/smart')).json().error.type, 'model_in_use')
      t.equal((await call(gateway, 'POST', '/api/admin/models', { name: 'smart' })).json().error.type, 'model_exists')
      t.equal((await call(gateway, 'POST', '/api/admin/models', { name: 'spare' })).statusCode, 201)
      t.equal((await call(gateway, 'DELETE', '/api/admin/models/spare')).statusCode, 204)
      t.equal((await call(gateway, 'DELETE', `/api/admin/channels/${channel.id}`)).statusCode, 204)
      t.equal(
        (await call(gateway, 'DELETE', '/api/admin/models/smart')).statusCode,
        204,
        'free once its channel is gone',
      )
      const left = await gateway.db.em().getConnection().execute('select count(*) as n from catalog_channel_keys')
      t.equal(Number((left as Array<{ n: number }>)[0]?.n), 0, "the channel's keys went with it")
    })
  })
}

t.test('re-encrypt: rotating ENCRYPTION_KEY keeps every secret readable', async t => {
  const { randomBytes } = await import('node:crypto')
  const { SecretBox } = await import('../src/catalog/secret-box.js')
  const { ChannelStore } = await import('../src/catalog/channels.js')
  const { runCli } = await import('../src/cli/run.js')
  const { PassThrough } = await import('node:stream')
  const oldKey = randomBytes(32).toString('hex')
  const newKey = randomBytes(32).toString('hex')
  const dataDir = t.testdir()
  const gateway = await createTestGateway({
    plugins: [auth, fixtures],
    config: { data_dir: dataDir, secrets: { encryption_key: oldKey } },
  })
  const created = await gateway.inject({
    method: 'POST',
    url: '/api/admin/channels',
    headers: { 'x-who': 'admin' },
    payload: {
      name: 'rotating',
      provider: 'mock',
      base_url: PUBLIC_BASE,
      keys: [SECRET],
      settings: { private_key: 'pk-secret-value-123456' },
    },
  })
  t.equal(created.statusCode, 201)
  const channelId = created.json().id as number
  const database = gateway.config.database.path as string
  await gateway.stop()

  // The operator's steps: new key in ENCRYPTION_KEY, old one in ENCRYPTION_KEY_PREVIOUS, then re-encrypt.
  const out = new PassThrough()
  let printed = ''
  out.on('data', chunk => (printed += chunk))
  const config = `${dataDir}/empty.yaml`
  ;(await import('node:fs')).writeFileSync(config, 'plugins: []\n')
  const env = {
    LOG_LEVEL: 'silent',
    PARLEY_CONFIG: config,
    DATA_DIR: dataDir,
    DATABASE_PATH: database,
    SECRET_KEY: 's'.repeat(40),
    ENCRYPTION_KEY: newKey,
    ENCRYPTION_KEY_PREVIOUS: oldKey,
  }
  t.equal(await runCli(['re-encrypt'], { out, err: out, env }), 0)
  t.match(printed, /Re-encrypted 1 channel key\(s\) and 1 secret setting\(s\)/)
  printed = ''
  t.equal(await runCli(['re-encrypt'], { out, err: out, env }), 0)
  t.match(printed, /Re-encrypted 0 channel key\(s\) and 0 secret setting\(s\)/, 'idempotent')

  // Without the old key at all, everything still opens.
  const after = await createTestGateway({
    plugins: [auth, fixtures],
    config: { data_dir: dataDir, database: { path: database }, secrets: { encryption_key: newKey } },
  })
  t.teardown(after.close)
  const store = new ChannelStore(new SecretBox(Buffer.from(newKey, 'hex'), []), after.registries.providers)
  t.same(await store.openKeys(after.db.em(), channelId), [{ id: created.json().keys[0].id, key: SECRET }])
})
