import t, { type Test } from 'tap'
import { definePlugin, TOKENS, Type, requireUser, type ChatService } from '@parley/core'
import {
  captureLogs,
  createChannel,
  post,
  readSse,
  sdk,
  startMockUpstream,
  usageRows,
  waitForRows,
  type MockUpstream,
} from '@parley/core/testing'
import { MODEL_CONFIGS, type ModelConfigs } from '@parley/model-configs'
import { boot, dialects, member, setQuota, type Member } from './helpers.js'

// A chat through a personal config goes through the data plane: the official SDK and raw SSE
// against a mock upstream, the usage row naming the config (never the key), caller limits,
// no failover to catalog channels, and the key in no answer and no log line.

const KEY = 'sk-proj-personal-chat-key-0123456789'
const ask = [{ role: 'user' as const, content: 'Hello there' }]

async function upstreamOf(t: Test): Promise<MockUpstream> {
  const upstream = await startMockUpstream({ keys: [KEY] })
  t.teardown(upstream.close)
  return upstream
}

async function configFor(user: Member, upstream: MockUpstream, parameters: Record<string, unknown> = {}) {
  const created = await user.call('POST', '/api/model-configs', {
    name: 'Mine',
    base_url: upstream.url,
    model: 'my-model',
    api_key: KEY,
    parameters,
  })
  if (created.status !== 201) throw new Error(JSON.stringify(created.body))
  return created.body.id as number
}

async function setup(t: Test, options: Parameters<typeof boot>[1] = {}) {
  const booted = await boot(t, options)
  await setQuota(booted, 3)
  const alice = await member(booted.gateway, 'alice')
  const upstream = await upstreamOf(t)
  return { booted, alice, upstream }
}

for (const dialect of dialects) {
  t.test(`${dialect.name}: the portal chat through a personal config`, { skip: dialect.skip }, async t => {
    const logs = captureLogs()
    const { booted, alice, upstream } = await setup(t, { mysqlUrl: dialect.mysqlUrl, logger: logs.logger })
    const { gateway } = booted
    // A catalog channel serving the same model name must never be tried.
    const catalogUpstream = await upstreamOf(t)
    await createChannel(
      gateway,
      { name: 'catalog', base_url: catalogUpstream.url, keys: [KEY], models: ['my-model'] },
      booted.admin,
    )
    const id = await configFor(alice, upstream, { temperature: 0.25, max_tokens: 99, system_prompt: 'Be brief.' })

    const models = (await alice.call('GET', '/api/chat/models')).body
    t.match(models.items, [
      { name: 'my-model', personal: undefined },
      { name: `personal:${id}`, display_name: 'Mine', personal: true, model_config_id: id, upstream_model: 'my-model' },
    ])

    // Non-streaming, with the official SDK on the portal path (the body field passes through).
    const client = sdk(gateway, alice.session, { path: '/api' })
    const answer = await client.chat.completions.create({
      model: `personal:${id}`,
      messages: ask,
      model_config_id: id,
    } as Parameters<typeof client.chat.completions.create>[0] & { model_config_id: number })
    t.match(answer, { object: 'chat.completion', choices: [{ message: { content: 'ok' } }] })
    const sent = upstream.requests[0]
    t.equal(sent?.apiKey, KEY, 'the opened key goes upstream')
    t.match(sent?.body, { model: 'my-model', temperature: 0.25, max_tokens: 99 })
    t.same((sent?.body?.messages as unknown[])[0], { role: 'system', content: 'Be brief.' })
    t.notOk('model_config_id' in (sent?.body ?? {}), 'our field stays with us')

    // Streaming, raw SSE, with the user's chat token as the portal sends it; the client's temperature wins.
    const chatToken = (await alice.call('POST', '/api/chat/token')).body.token as string
    const response = await post(
      gateway,
      '/api/chat/completions',
      { model: 'x', model_config_id: id, messages: ask, stream: true, temperature: 1.5 },
      { authorization: `Bearer ${chatToken}` },
    )
    t.equal(response.status, 200)
    const events = await readSse(response)
    t.equal(events.at(-1)?.data, '[DONE]')
    t.match(upstream.requests[1]?.body, { temperature: 1.5, stream: true })
    t.equal(catalogUpstream.requests.length, 0, 'no catalog channel was asked')

    const rows = await waitForRows(gateway, 2)
    for (const row of rows) {
      t.match(row, {
        user_id: alice.id,
        model: 'my-model',
        channel_id: null,
        channel_name: `model-config:${id}`,
        status: 'success',
        endpoint: 'portal',
      })
      t.notOk(JSON.stringify(row).includes(KEY))
    }
    t.equal(Boolean(rows[1]?.stream), true)
    t.ok(logs.lines.length > 0, 'logs were captured')
    t.same(logs.containing(KEY), [], 'the key is in no log line')
    t.same(logs.containing(KEY.slice(-12)), [])
  })
}

t.test('an upstream refusal: no failover, a row, the key scrubbed', async t => {
  const logs = captureLogs()
  const { booted, alice, upstream } = await setup(t, { logger: logs.logger })
  const catalogUpstream = await upstreamOf(t)
  await createChannel(
    booted.gateway,
    { name: 'catalog', base_url: catalogUpstream.url, keys: [KEY], models: ['my-model'] },
    booted.admin,
  )
  const id = await configFor(alice, upstream)
  upstream.script([{ status: 500, message: `server broke with key ${KEY}` }])
  const response = await alice.call('POST', '/api/chat/completions', { model: 'x', model_config_id: id, messages: ask })
  t.equal(response.status, 502)
  t.notOk(JSON.stringify(response.body).includes(KEY))
  t.equal(upstream.requests.length, 1, 'one attempt, no retry on another key')
  t.equal(catalogUpstream.requests.length, 0, 'no failover to the catalog')
  const [row] = await waitForRows(booted.gateway, 1)
  t.match(row, { status: 'error', channel_id: null, channel_name: `model-config:${id}` })
  t.same(logs.containing(KEY), [])
})

t.test('caller limits apply as to any call', async t => {
  const { booted, alice, upstream } = await setup(t)
  const id = await configFor(alice, upstream)
  const put = await booted.gateway.inject({
    method: 'PUT',
    url: '/api/admin/config',
    headers: { authorization: `Bearer ${booted.admin}` },
    payload: { user_rpm: 1 },
  })
  t.equal(put.statusCode, 200)
  const body = { model: 'x', model_config_id: id, messages: ask }
  t.equal((await alice.call('POST', '/api/chat/completions', body)).status, 200)
  const refused = await alice.call('POST', '/api/chat/completions', body)
  t.equal(refused.status, 429)
  t.equal(upstream.requests.length, 1)
})

t.test('the test button and the MODEL_CONFIGS service run through the data plane', async t => {
  // A plugin in the conversations engineer's place: resolves a config and runs chat.run with it.
  const consumer = definePlugin({
    id: 'consumer',
    version: '1.0.0',
    requires: ['model-configs'],
    setup(ctx) {
      const configs = ctx.container.resolve<ModelConfigs>(MODEL_CONFIGS)
      const chat = ctx.container.resolve<ChatService>(TOKENS.chat)
      ctx.http.post(
        '/api/consumer/:id',
        { schema: { params: Type.Object({ id: Type.Integer() }) } },
        async (request, reply) => {
          const principal = await requireUser(request)
          const upstream = await configs.resolve(principal.userId, request.params.id)
          if (!upstream) return reply.code(404).send({ error: { type: 'not_found', message: 'none' } })
          return chat.run(request, reply, {
            body: { model: upstream.model, messages: ask, stream: true },
            principal,
            endpoint: 'consumer',
            upstream,
          })
        },
      )
    },
  })
  const { booted, alice, upstream } = await setup(t, { extra: [consumer] })
  const id = await configFor(alice, upstream, { top_p: 0.5 })
  const bob = await member(booted.gateway, 'bob')

  const tested = await alice.call('POST', `/api/model-configs/${id}/test`)
  t.equal(tested.status, 200)
  t.match(tested.body, { choices: [{ message: { content: 'ok' } }] })

  const response = await post(booted.gateway, `/api/consumer/${id}`, {}, { authorization: `Bearer ${alice.session}` })
  t.equal(response.status, 200)
  t.equal((await readSse(response)).at(-1)?.data, '[DONE]')
  t.match(upstream.requests[1]?.body, { model: 'my-model', top_p: 0.5, stream: true })
  t.equal((await bob.call('POST', `/api/consumer/${id}`)).status, 404, "bob cannot use alice's config")

  const rows = await waitForRows(booted.gateway, 2)
  t.same(
    rows.map(row => [row.endpoint, row.channel_name]),
    [
      ['model-configs', `model-config:${id}`],
      ['consumer', `model-config:${id}`],
    ],
  )
  t.equal((await usageRows(booted.gateway)).length, 2)
})

t.test('the same timeouts: a silent personal upstream ends in a timeout row', async t => {
  const { booted, alice, upstream } = await setup(t, { config: { upstream: { first_byte_timeout_ms: 300 } } })
  const id = await configFor(alice, upstream)
  upstream.script([{ slowHeadersMs: 3000 }])
  const started = Date.now()
  const response = await alice.call('POST', '/api/chat/completions', { model: 'x', model_config_id: id, messages: ask })
  t.equal(response.status, 504)
  t.ok(Date.now() - started < 2500, 'cut at the first-byte timeout')
  const [row] = await waitForRows(booted.gateway, 1)
  t.match(row, { status: 'error', error_type: 'timeout', channel_name: `model-config:${id}` })
})
