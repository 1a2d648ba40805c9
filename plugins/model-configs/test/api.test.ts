import t from 'tap'
import { pendingSchemaChanges } from '@parley/core/testing'
import { boot, dialects, member, setQuota } from './helpers.js'

// The personal model config API on both dialects: CRUD, the group quota, every route refusing
// another user's config with 404 and changing nothing, SSRF refusals. Real identity plugin.

const KEY = 'sk-proj-personal-key-0123456789abcd'
const config = {
  name: 'My GPT',
  // Loopback: the test gateway admits it (upstream.allow_loopback), and no DNS is needed.
  base_url: 'http://127.0.0.1:9/v1',
  model: 'gpt-4o-mini',
  api_key: KEY,
  parameters: { temperature: 0.3, top_p: 0.9, max_tokens: 512, system_prompt: 'Be brief.' },
}

for (const dialect of dialects) {
  t.test(dialect.name, { skip: dialect.skip }, async t => {
    t.test('the migrations give exactly the entities', async t => {
      const { gateway } = await boot(t, { mysqlUrl: dialect.mysqlUrl })
      t.same(await pendingSchemaChanges(gateway), [])
    })

    t.test('create, list, change and delete within the group quota', async t => {
      const booted = await boot(t, { mysqlUrl: dialect.mysqlUrl })
      const alice = await member(booted.gateway, 'alice')
      t.same((await alice.call('POST', '/api/model-configs/can-create')).body, { can_create: false, limit: 0, used: 0 })
      const refused = await alice.call('POST', '/api/model-configs', config)
      t.equal(refused.status, 403)
      t.equal(refused.body.error.type, 'model_config_quota_exceeded')

      await setQuota(booted, 2)
      t.same((await alice.call('POST', '/api/model-configs/can-create')).body, { can_create: true, limit: 2, used: 0 })
      const created = await alice.call('POST', '/api/model-configs', config)
      t.equal(created.status, 201)
      t.match(created.body, {
        id: Number,
        name: 'My GPT',
        // Loopback: the test gateway admits it (upstream.allow_loopback), and no DNS is needed.
        base_url: 'http://127.0.0.1:9/v1',
        model: 'gpt-4o-mini',
        key_hint: 'sk-…abcd',
        parameters: config.parameters,
        created_at: String,
        updated_at: String,
      })
      t.notOk(JSON.stringify(created.body).includes(KEY), 'the key is never answered')
      const second = await alice.call('POST', '/api/model-configs', {
        ...config,
        name: 'Second',
        parameters: undefined,
      })
      t.equal(second.status, 201)
      t.same(second.body.parameters, {})
      t.same((await alice.call('POST', '/api/model-configs/can-create')).body, { can_create: false, limit: 2, used: 2 })
      t.equal((await alice.call('POST', '/api/model-configs', { ...config, name: 'Third' })).status, 403)

      const list = await alice.call('GET', '/api/model-configs')
      t.match(list.body, { total: 2, page: 1, page_size: 20 })
      t.same(
        list.body.items.map((item: { name: string }) => item.name),
        ['Second', 'My GPT'],
      )
      t.notOk(JSON.stringify(list.body).includes(KEY))

      const changed = await alice.call('PUT', `/api/model-configs/${created.body.id}`, {
        name: 'Renamed',
        api_key: 'sk-another-key-0000000000wxyz',
        parameters: { temperature: 1 },
      })
      t.equal(changed.status, 200)
      t.match(changed.body, {
        name: 'Renamed',
        key_hint: 'sk-…wxyz',
        parameters: { temperature: 1 },
        model: 'gpt-4o-mini',
      })

      const deleted = await alice.call('POST', '/api/model-configs/delete', { ids: [created.body.id, 999_999] })
      t.same(deleted.body, { deleted: 1 })
      t.equal((await alice.call('GET', '/api/model-configs')).body.total, 1)
    })

    t.test("another user's config: 404 everywhere and nothing changes", async t => {
      const booted = await boot(t, { mysqlUrl: dialect.mysqlUrl })
      await setQuota(booted, 5)
      const alice = await member(booted.gateway, 'alice')
      const mallory = await member(booted.gateway, 'mallory')
      const own = (await alice.call('POST', '/api/model-configs', config)).body
      const before = (await alice.call('GET', '/api/model-configs')).body

      const put = await mallory.call('PUT', `/api/model-configs/${own.id}`, {
        name: 'pwned',
        base_url: 'https://evil.example/v1',
      })
      t.equal(put.status, 404)
      t.equal(put.body.error.type, 'model_config_not_found')
      t.equal((await mallory.call('POST', `/api/model-configs/${own.id}/test`)).status, 404)
      t.same((await mallory.call('POST', '/api/model-configs/delete', { ids: [own.id] })).body, { deleted: 0 })
      t.same((await mallory.call('GET', '/api/model-configs')).body.items, [])
      const chat = await mallory.call('POST', '/api/chat/completions', {
        model: 'x',
        model_config_id: own.id,
        messages: [{ role: 'user', content: 'hi' }],
      })
      t.equal(chat.status, 404)
      t.equal(chat.body.error.type, 'model_config_not_found')
      const models = (await mallory.call('GET', '/api/chat/models')).body
      t.same(models.items, [], "the picker lists none of alice's")

      t.same((await alice.call('GET', '/api/model-configs')).body, before, 'alice still has it, unchanged')
    })

    t.test('bad input: clear 400s, nothing stored', async t => {
      const booted = await boot(t, { mysqlUrl: dialect.mysqlUrl })
      await setQuota(booted, 5)
      const alice = await member(booted.gateway, 'alice')
      const cases: Array<[string, Record<string, unknown>, string]> = [
        ['temperature over 2', { ...config, parameters: { temperature: 3 } }, 'parameters/temperature'],
        ['top_p over 1', { ...config, parameters: { top_p: 1.5 } }, 'parameters/top_p'],
        ['max_tokens 0', { ...config, parameters: { max_tokens: 0 } }, 'parameters/max_tokens'],
        ['unknown parameter', { ...config, parameters: { seed: 1 } }, 'parameters/seed'],
        ['empty key', { ...config, api_key: '' }, 'api_key'],
        ['blank name', { ...config, name: '   ' }, 'name'],
        ['unknown field', { ...config, owner: 1 }, 'owner'],
      ]
      for (const [what, body, field] of cases) {
        const response = await alice.call('POST', '/api/model-configs', body)
        t.equal(response.status, 400, what)
        t.equal(response.body.error.type, 'invalid_request', what)
        t.match(response.body.error.message, field.split('/').pop() as string, what)
      }
      t.equal((await alice.call('GET', '/api/model-configs')).body.total, 0)
    })

    t.test('signed-out callers learn nothing', async t => {
      const { gateway } = await boot(t, { mysqlUrl: dialect.mysqlUrl })
      for (const [method, url] of [
        ['GET', '/api/model-configs'],
        ['POST', '/api/model-configs/can-create'],
        ['POST', '/api/model-configs'],
        ['PUT', '/api/model-configs/1'],
        ['POST', '/api/model-configs/delete'],
      ] as const) {
        const response = await gateway.inject({ method, url, payload: {} })
        t.equal(response.statusCode, 401, `${method} ${url}`)
      }
    })
  })
}

t.test('base URLs are SSRF-checked like channels', async t => {
  const booted = await boot(t, { config: { upstream: { allow_loopback: false } } })
  await setQuota(booted, 5)
  const alice = await member(booted.gateway, 'alice')
  const forbidden = 'PARLEY_ERR_UPSTREAM_ADDRESS_FORBIDDEN'
  const invalid = 'PARLEY_ERR_UPSTREAM_URL_INVALID'
  const refusals: Array<[string, string]> = [
    ['http://127.0.0.1:8080/v1', forbidden],
    ['http://localhost/v1', forbidden],
    ['http://2130706433/v1', forbidden],
    ['http://169.254.169.254/latest', forbidden],
    ['http://10.0.0.5/v1', forbidden],
    ['http://[::1]/v1', forbidden],
    ['ftp://example.com/v1', invalid],
    ['https://user:pass@example.com/v1', invalid],
    ['https://93.184.215.14/v1?key=sk-x', invalid],
    ['not a url', invalid],
  ]
  for (const [url, code] of refusals) {
    const response = await alice.call('POST', '/api/model-configs', { ...config, base_url: url })
    t.equal(response.status, 400, url)
    t.equal(response.body.error.code, code, url)
  }
  const lan = await alice.call('POST', '/api/model-configs', { ...config, base_url: 'http://10.0.0.5/v1' })
  t.match(lan.body.error.message, 'allow_private_upstreams', 'a LAN address names the setting')
  const loop = await alice.call('POST', '/api/model-configs', { ...config, base_url: 'http://127.0.0.1:8080/v1' })
  t.match(loop.body.error.message, 'allow_loopback', 'a loopback address names the config key')
  t.equal((await alice.call('GET', '/api/model-configs')).body.total, 0)

  // A public address literal needs no DNS.
  const publicUrl = 'https://93.184.215.14/v1'
  const own = (await alice.call('POST', '/api/model-configs', { ...config, base_url: publicUrl })).body
  const put = await alice.call('PUT', `/api/model-configs/${own.id}`, { name: 'New', base_url: 'http://127.0.0.1/v1' })
  t.equal(put.status, 400)
  t.match((await alice.call('GET', '/api/model-configs')).body.items[0], { name: 'My GPT', base_url: publicUrl })
})
