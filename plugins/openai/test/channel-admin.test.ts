/**
 * Channels as gateways offer them, through the admin API against a mock upstream: a key the
 * upstream keeps refusing is disabled (then enabled again by a passing test), on SQLite and
 * MariaDB; the upstream's model list for the console to pick from; per-channel timeouts.
 */
import t, { type Test } from 'tap'
import { missingService, testServices, type TestGateway } from '@parley/core/testing'
import { bootGateway, bootUpstream, createChannel, post, readSse, ROOT, until, waitForRows } from './helpers.js'

const MODEL = 'gpt-4o-mini'
const ask = { model: MODEL, messages: [{ role: 'user', content: 'Hello?' }] }
const CALLER = { authorization: 'Bearer token-default' }
const ADMIN = { authorization: `Bearer ${ROOT}` }
const KEY = 'sk-channel-admin-0123456789'

const dialects = [
  { name: 'sqlite', skip: false as string | false, mysqlUrl: undefined as string | undefined },
  { name: 'mysql', skip: missingService('mysql'), mysqlUrl: testServices.mysqlUrl },
]

interface KeyView {
  id: number
  enabled: boolean
  disabled_reason: string | null
  disabled_at: string | null
}

async function keysOf(gateway: TestGateway, id: number): Promise<KeyView[]> {
  const response = await gateway.inject({ method: 'GET', url: `/api/admin/channels/${id}`, headers: ADMIN })
  return (response.json() as { keys: KeyView[] }).keys
}

for (const dialect of dialects) {
  t.test(
    `${dialect.name}: a key refused N times in a row is disabled, and a passing test enables it`,
    { skip: dialect.skip },
    async (t: Test) => {
      const upstream = await bootUpstream(t)
      const gateway = await bootGateway(t, { mysqlUrl: dialect.mysqlUrl })
      const setting = await gateway.inject({
        method: 'PUT',
        url: '/api/admin/config',
        headers: ADMIN,
        payload: { key_auto_disable_after: 2 },
      })
      t.equal(setting.statusCode, 200)
      const id = await createChannel(gateway, { name: 'refused', base_url: upstream.url, keys: [KEY], models: [MODEL] })

      upstream.script([{ status: 401 }, { status: 401 }, { status: 401 }])
      const first = await post(gateway, '/v1/chat/completions', ask, CALLER)
      t.equal(first.status, 502)
      t.match(await keysOf(gateway, id), [{ enabled: true, disabled_reason: null }], 'one refusal: still enabled')
      const second = await post(gateway, '/v1/chat/completions', ask, CALLER)
      t.equal(second.status, 502)
      await until(async () => (await keysOf(gateway, id))[0]?.enabled === false, 'the key disabled')
      const [disabled] = await keysOf(gateway, id)
      t.match(disabled, { enabled: false, disabled_reason: 'auth', disabled_at: String })
      await until(() => gateway.catalog.current().channels.every(c => c.id !== id), 'the channel out of routing')
      const none = await post(gateway, '/v1/chat/completions', ask, CALLER)
      t.not(none.status, 200, 'a channel whose only key is disabled is not called without one')
      t.equal(upstream.requests.filter(r => r.path === '/v1/chat/completions').length, 2, 'not asked again')
      const rows = await waitForRows(gateway, 3)
      t.same(
        rows.slice(0, 2).map(row => row.error_type),
        ['upstream_auth', 'upstream_auth'],
      )

      // The upstream refuses once more: the test fails and the key stays disabled.
      const failing = await gateway.inject({
        method: 'POST',
        url: `/api/admin/channels/${id}/test`,
        headers: ADMIN,
        payload: {},
      })
      t.match(failing.json(), { ok: false, results: [{ key_id: disabled?.id, ok: false, status: 401 }] })
      t.match(await keysOf(gateway, id), [{ enabled: false, disabled_reason: 'auth' }])
      // Now the upstream takes the key: a passing test enables it again.
      const passing = await gateway.inject({
        method: 'POST',
        url: `/api/admin/channels/${id}/test`,
        headers: ADMIN,
        payload: {},
      })
      t.match(passing.json(), { ok: true, results: [{ key_id: disabled?.id, ok: true }] })
      t.match(await keysOf(gateway, id), [{ enabled: true, disabled_reason: null, disabled_at: null }])
      await until(() => gateway.catalog.current().channels.some(c => c.id === id), 'the channel back in routing')
      const answered = await post(gateway, '/v1/chat/completions', ask, CALLER)
      t.equal(answered.status, 200)
    },
  )
}

t.test('key_auto_disable_after 0: a refused key is never disabled', async t => {
  const upstream = await bootUpstream(t)
  const gateway = await bootGateway(t)
  await gateway.inject({
    method: 'PUT',
    url: '/api/admin/config',
    headers: ADMIN,
    payload: { key_auto_disable_after: 0 },
  })
  const id = await createChannel(gateway, { name: 'kept', base_url: upstream.url, keys: [KEY], models: [MODEL] })
  upstream.script(Array.from({ length: 5 }, () => ({ status: 403 })))
  for (let i = 0; i < 5; i++) t.equal((await post(gateway, '/v1/chat/completions', ask, CALLER)).status, 502)
  await waitForRows(gateway, 5)
  t.match(await keysOf(gateway, id), [{ enabled: true, disabled_reason: null }])
})

t.test("the upstream's model list, for a form not yet saved and for a saved channel", async t => {
  const upstream = await bootUpstream(t, { keys: [KEY], models: ['gpt-4o', 'o3-mini', 'gpt-4o-mini', 'gpt-4o'] })
  const gateway = await bootGateway(t)
  const fetchModels = (payload: Record<string, unknown>, headers: Record<string, string> = ADMIN) =>
    gateway.inject({ method: 'POST', url: '/api/admin/channels/upstream-models', headers, payload })

  const unsaved = await fetchModels({ provider: 'openai', base_url: upstream.url, key: KEY })
  t.equal(unsaved.statusCode, 200)
  t.same(unsaved.json(), {
    items: [{ id: 'gpt-4o' }, { id: 'gpt-4o-mini' }, { id: 'o3-mini' }],
    total: 3,
    page: 1,
    page_size: 3,
  })
  const modelRequest = upstream.requests.find(r => r.path === '/v1/models')
  t.equal(modelRequest?.apiKey, KEY, 'asked with the key given')

  const id = await createChannel(gateway, { name: 'saved', base_url: upstream.url, keys: [KEY], models: [MODEL] })
  const saved = await fetchModels({ channel_id: id })
  t.equal(saved.json().total, 3, "a saved channel's own key and base URL")

  const refused = await fetchModels(
    { provider: 'openai', base_url: upstream.url, key: 'sk-wrong-key-0123456789' },
    { ...ADMIN, 'accept-language': 'zh-CN' },
  )
  t.equal(refused.statusCode, 502)
  t.match(refused.json(), {
    error: { code: 'PARLEY_ERR_CATALOG_MODELS_FETCH_FAILED', message: /^无法获取上游的模型列表：.*401/ },
  })
  t.notOk(refused.body.includes('sk-wrong-key-0123456789'), 'the key is not echoed')

  const forbidden = await fetchModels({ provider: 'openai', base_url: 'http://169.254.169.254/v1', key: KEY })
  t.equal(forbidden.statusCode, 400, 'the base URL is checked like a saved one')
  const missing = await fetchModels({ provider: 'openai' })
  t.equal(missing.statusCode, 400)
  const other = await fetchModels({ channel_id: 999 })
  t.equal(other.statusCode, 404)
  const user = await fetchModels({ channel_id: id }, { authorization: 'Bearer user-default' })
  t.equal(user.statusCode, 403, 'admins only')
})

t.test("a channel's own timeouts are honoured, and checked when saved", async t => {
  const upstream = await bootUpstream(t, { defaultBehaviour: { text: 'slow', slowHeadersMs: 1200 } })
  const gateway = await bootGateway(t)
  const bad = await gateway.inject({
    method: 'POST',
    url: '/api/admin/channels',
    headers: ADMIN,
    payload: { provider: 'openai', name: 'x', base_url: upstream.url, timeouts: { first_byte_ms: 5 } },
  })
  t.equal(bad.statusCode, 400, 'a timeout under 100 ms is refused')
  const id = await createChannel(gateway, {
    name: 'impatient',
    base_url: upstream.url,
    keys: [KEY],
    models: [MODEL],
    timeouts: { connect_ms: 2000, first_byte_ms: 300 },
  })
  const view = await gateway.inject({ method: 'GET', url: `/api/admin/channels/${id}`, headers: ADMIN })
  t.same(view.json().timeouts, { connect_ms: 2000, first_byte_ms: 300, idle_ms: null })

  const started = Date.now()
  const answer = await post(gateway, '/v1/chat/completions', ask, CALLER)
  const took = Date.now() - started
  t.equal(answer.status, 504)
  t.ok(took < 1100, `gave up at the channel's 300 ms, not the gateway's 120 s (${took} ms)`)

  const changed = await gateway.inject({
    method: 'PUT',
    url: `/api/admin/channels/${id}`,
    headers: ADMIN,
    payload: { timeouts: { first_byte_ms: null } },
  })
  t.same(changed.json().timeouts, { connect_ms: null, first_byte_ms: null, idle_ms: null }, 'null: the gateway’s')
  await until(() => gateway.catalog.current().channels.find(c => c.id === id)?.timeouts === undefined, 'reloaded')
  const patient = await post(gateway, '/v1/chat/completions', ask, CALLER)
  t.equal(patient.status, 200, 'with the gateway’s timeout the slow upstream answers')
})

t.test("a channel's own idle timeout ends a stream that pauses too long", async t => {
  const upstream = await bootUpstream(t, { defaultBehaviour: { text: 'one two three four', chunkDelayMs: 1000 } })
  const gateway = await bootGateway(t)
  await createChannel(gateway, {
    name: 'pauses',
    base_url: upstream.url,
    keys: [KEY],
    models: [MODEL],
    timeouts: { idle_ms: 300 },
  })
  const started = Date.now()
  const events = await readSse(await post(gateway, '/v1/chat/completions', { ...ask, stream: true }, CALLER))
  const took = Date.now() - started
  const error = events.map(event => event.data).find(data => data.includes('"error"'))
  t.match(error, /stopped sending in the middle of the answer/, 'the stream ends with the timeout event')
  t.ok(took < 2500, `within the channel's 300 ms pause, not the gateway's 60 s (${took} ms)`)
  const [row] = await waitForRows(gateway, 1)
  t.match(row, { status: 'error', error_type: 'timeout' })
})
