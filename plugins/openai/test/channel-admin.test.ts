/**
 * Channels as gateways offer them, through the admin API against a mock upstream: a key the
 * upstream keeps refusing is disabled (then enabled again by a passing test), on SQLite and
 * MariaDB.
 */
import t, { type Test } from 'tap'
import { missingService, testServices, type TestGateway } from '@parley/core/testing'
import { bootGateway, bootUpstream, createChannel, post, ROOT, until, waitForRows } from './helpers.js'

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
