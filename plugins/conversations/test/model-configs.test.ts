import t from 'tap'
import identity from '@parley/identity'
import modelConfigs from '@parley/model-configs'
import openai from '@parley/openai'
import { createTestGateway, startMockUpstream, until, usageRows } from '@parley/core/testing'
import conversations from '../src/index.js'

const ADMIN = { username: 'admin', password: 'admin-password-for-tests' }
const KEY = 'sk-proj-conversation-config-0123456789'

/**
 * A conversation on a personal model config (plugins/model-configs): created with
 * `model_config_id` only when the config is the caller's, and each send (and the title) goes to
 * the config's own upstream through the data plane.
 */
t.test('a conversation on a personal model config sends to its upstream; others cannot use it', async t => {
  const upstream = await startMockUpstream({ keys: [KEY] })
  t.teardown(upstream.close)
  const gateway = await createTestGateway({
    plugins: [identity, openai, modelConfigs, conversations],
    listen: true,
    config: { admin: ADMIN },
  })
  t.teardown(gateway.close)
  const admin = (
    (await gateway.inject({ method: 'POST', url: '/api/auth/admin/login', payload: ADMIN })).json() as {
      access_token: string
    }
  ).access_token
  await gateway.inject({
    method: 'PUT',
    url: '/api/admin/groups/default',
    headers: { authorization: `Bearer ${admin}` },
    payload: { model_config_limit: 2 },
  })
  const users: Record<string, string> = {}
  for (const name of ['alice', 'bob']) {
    const registered = await gateway.inject({
      method: 'POST',
      url: '/api/auth/register',
      payload: {
        email: `${name}@example.com`,
        username: name,
        password: 'staple-battery-for-tests',
        password_confirm: 'staple-battery-for-tests',
      },
    })
    users[name] = (registered.json() as { access_token: string }).access_token
  }
  const call = async (who: string, method: 'GET' | 'POST', url: string, payload?: unknown) => {
    const response = await gateway.inject({
      method,
      url,
      headers: { authorization: `Bearer ${users[who]}` },
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    })
    return { status: response.statusCode, body: response.json() as Record<string, unknown> }
  }
  const config = await call('alice', 'POST', '/api/model-configs', {
    name: 'Mine',
    base_url: upstream.url,
    model: 'my-model',
    api_key: KEY,
  })
  t.equal(config.status, 201)
  const configId = config.body.id as number

  t.match(await call('bob', 'POST', '/api/conversations', { model_config_id: configId }), {
    status: 404,
    body: { error: { code: 'PARLEY_ERR_CONVERSATION_MODEL_CONFIG_NOT_FOUND' } },
  })
  const created = await call('alice', 'POST', '/api/conversations', { model_config_id: configId })
  t.match(created, { status: 201, body: { model: null, model_config_id: configId } })
  const id = created.body.id as number

  const answered = await call('alice', 'POST', `/api/conversations/${id}/messages`, { content: 'Hello', stream: false })
  t.equal(answered.status, 200)
  const sent = upstream.requests.find(request => request.path === '/v1/chat/completions')
  t.equal(sent?.apiKey, KEY, "the config's own key went to its upstream")
  t.match(sent?.body, { model: 'my-model', messages: [{ role: 'user', content: 'Hello' }] })
  await until(async () => {
    const messages = (await call('alice', 'GET', `/api/conversations/${id}/messages`)).body.items as Array<{
      status: string
    }>
    return messages[1]?.status === 'completed'
  }, 'answer stored')
  await until(
    async () => (await call('alice', 'GET', `/api/conversations/${id}`)).body.title_source !== 'question',
    'titled',
    10_000,
  )
  t.equal(
    upstream.requests.filter(request => request.path === '/v1/chat/completions').length,
    2,
    'the title asked the same config',
  )
  const rows = await usageRows(gateway)
  t.match(rows[0], { endpoint: 'conversations', channel_name: `model-config:${configId}` })
  t.notOk(JSON.stringify(rows).includes(KEY), 'no key in usage rows')
})
