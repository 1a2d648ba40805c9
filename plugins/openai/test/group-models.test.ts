import OpenAI from 'openai'
import t, { type Test } from 'tap'
import identity from '@parley/identity'
import { createTestGateway, missingService, testServices, type TestGateway } from '@parley/core/testing'
import openai from '@parley/openai'
import { bootUpstream, createChannel, post, sdk, statusOf, until, usageRows } from './helpers.js'

// A group's `models` list (identity) is enforced by the data plane: `null` allows every model,
// `[]` none, a list exactly its names. Real identity plugin, official SDK, mock upstream.

const KEY = 'sk-proj-group-models-0123456789'
const ADMIN = { username: 'admin', password: 'admin-password-for-tests' }
const MODELS = ['gpt-4o', 'gpt-4o-mini', 'o3-mini']
const ask = [{ role: 'user' as const, content: 'Hello?' }]

const dialects = [
  { name: 'sqlite', skip: false as string | false, mysqlUrl: undefined as string | undefined },
  { name: 'mysql', skip: missingService('mysql'), mysqlUrl: testServices.mysqlUrl },
]

interface Setup {
  readonly gateway: TestGateway
  /** The admin console token (root). */
  readonly admin: string
}

async function boot(t: Test, mysqlUrl: string | undefined): Promise<Setup> {
  const gateway = await createTestGateway({
    plugins: [identity, openai],
    listen: true,
    config: { admin: ADMIN },
    mysqlUrl,
  })
  t.teardown(gateway.close)
  return signIn(gateway)
}

async function signIn(gateway: TestGateway): Promise<Setup> {
  const login = await gateway.inject({ method: 'POST', url: '/api/auth/admin/login', payload: ADMIN })
  if (login.statusCode !== 200) throw new Error(`admin login: ${login.body}`)
  return { gateway, admin: (login.json() as { access_token: string }).access_token }
}

/** Registers a user (group `default`) and gives back their session token and an API token. */
async function member(gateway: TestGateway, name: string): Promise<{ id: number; session: string; token: string }> {
  const password = 'staple-battery-for-tests' // a password containing the username is refused
  const registered = await gateway.inject({
    method: 'POST',
    url: '/api/auth/register',
    payload: { email: `${name}@example.com`, username: name, password, password_confirm: password },
  })
  if (registered.statusCode !== 201) throw new Error(`register ${name}: ${registered.body}`)
  const { access_token: session, user } = registered.json() as { access_token: string; user: { id: number } }
  const created = await gateway.inject({
    method: 'POST',
    url: '/api/tokens',
    headers: { authorization: `Bearer ${session}` },
    payload: { name: 'scripts' },
  })
  if (created.statusCode !== 201) throw new Error(`token of ${name}: ${created.body}`)
  return { id: user.id, session, token: (created.json() as { token: string }).token }
}

async function admin(
  setup: Setup,
  method: 'POST' | 'PUT',
  url: string,
  payload: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const response = await setup.gateway.inject({
    method,
    url,
    headers: { authorization: `Bearer ${setup.admin}` },
    payload,
  })
  if (response.statusCode >= 300) throw new Error(`${method} ${url}: HTTP ${response.statusCode} ${response.body}`)
  return response.json() as Record<string, unknown>
}

/** Sets a group's model list through the admin API (`undefined` leaves it, as the API does). */
function setModels(setup: Setup, group: string, models: readonly string[] | null): Promise<Record<string, unknown>> {
  return admin(setup, 'PUT', `/api/admin/groups/${group}`, { models })
}

async function v1Models(gateway: TestGateway, token: string): Promise<string[]> {
  const names: string[] = []
  for await (const model of sdk(gateway, token).models.list()) names.push(model.id)
  return names.sort()
}

async function chatModels(gateway: TestGateway, headers: Record<string, string>): Promise<string[]> {
  const response = await gateway.inject({ method: 'GET', url: '/api/chat/models', headers })
  if (response.statusCode !== 200) throw new Error(`/api/chat/models: HTTP ${response.statusCode} ${response.body}`)
  return (response.json() as { items: Array<{ name: string }> }).items.map(item => item.name).sort()
}

/** The APIError an SDK call fails with (the test fails if it succeeds). */
async function refusal(t: Test, promise: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await promise
  } catch (error) {
    if (error instanceof OpenAI.APIError) return error
    throw error
  }
  t.fail('the call was not refused')
  throw new Error('not refused')
}

/** The statuses of every chat endpoint for `model`: /v1 chat (plain and streamed), /v1/responses, and the portal with the session. */
async function everyEndpoint(
  gateway: TestGateway,
  user: { session: string; token: string },
  model: string,
): Promise<number[]> {
  const client = sdk(gateway, user.token)
  const plain = await statusOf(client.chat.completions.create({ model, messages: ask }))
  const streamed = await statusOf(
    client.chat.completions.create({ model, messages: ask, stream: true }).then(async stream => {
      for await (const _chunk of stream) void _chunk
    }),
  )
  const responses = await statusOf(client.responses.create({ model, input: 'Hello?' }))
  const portal = await post(
    gateway,
    '/api/chat/completions',
    { model, messages: ask },
    { authorization: `Bearer ${user.session}` },
  )
  await portal.body?.cancel()
  return [plain ?? 0, streamed ?? 0, responses ?? 0, portal.status]
}

for (const { name: dialect, skip, mysqlUrl } of dialects) {
  t.test(`${dialect}: a group's model list decides what its members list and call`, { skip }, async t => {
    const upstream = await bootUpstream(t, { keys: [KEY] })
    const setup = await boot(t, mysqlUrl)
    const { gateway } = setup
    // Responses go to the upstream's own Responses API (`native`), so every endpoint reaches the mock.
    await createChannel(
      gateway,
      { name: 'main', base_url: upstream.url, keys: [KEY], models: MODELS, groups: ['default', 'open'] },
      setup.admin,
    )
    await admin(setup, 'POST', '/api/admin/groups', { name: 'open' })
    const ada = await member(gateway, 'ada')
    const bob = await member(gateway, 'bob')
    await admin(setup, 'PUT', `/api/admin/users/${bob.id}`, { group: 'open' })

    t.test('null (the default): every model', async t => {
      t.same(await v1Models(gateway, ada.token), MODELS, '/v1/models lists all')
      t.same(
        await chatModels(gateway, { authorization: `Bearer ${ada.session}` }),
        MODELS,
        '/api/chat/models lists all',
      )
      for (const model of MODELS)
        t.same(await everyEndpoint(gateway, ada, model), [200, 200, 200, 200], `${model} on every endpoint`)
    })

    t.test('[]: no model at all, refused before any upstream request', async t => {
      const saved = await setModels(setup, 'default', [])
      t.same(saved.models, [], 'the admin API answers the empty list')
      const before = upstream.requests.length
      const rowsBefore = (await usageRows(gateway)).length

      t.same(await v1Models(gateway, ada.token), [], '/v1/models lists nothing')
      t.same(
        await chatModels(gateway, { authorization: `Bearer ${ada.session}` }),
        [],
        '/api/chat/models lists nothing',
      )
      for (const model of MODELS)
        t.same(await everyEndpoint(gateway, ada, model), [403, 403, 403, 403], `${model} is refused on every endpoint`)
      t.same(
        await everyEndpoint(gateway, ada, 'no-such-model'),
        [403, 403, 403, 403],
        'an unknown name too: the list is checked first',
      )

      const error = await refusal(
        t,
        sdk(gateway, ada.token).chat.completions.create({ model: 'gpt-4o-mini', messages: ask }),
      )
      t.equal(error.status, 403)
      t.match(
        error.error,
        { type: 'model_not_allowed', message: 'Your group may not use model gpt-4o-mini' },
        "OpenAI's error shape",
      )
      const portal = await post(
        gateway,
        '/api/chat/completions',
        { model: 'gpt-4o', messages: ask, stream: true },
        { authorization: `Bearer ${ada.session}` },
      )
      t.equal(portal.status, 403, 'a streamed portal call is refused before any byte')
      t.match(await portal.json(), {
        error: { type: 'model_not_allowed', message: 'Your group may not use model gpt-4o' },
      })

      t.equal(upstream.requests.length, before, 'the upstream saw no request')
      const rows = (await usageRows(gateway)).slice(rowsBefore)
      t.equal(rows.length, 4 * 4 + 2, 'one row per refused call, as for an unknown model')
      t.ok(
        rows.every(
          row =>
            row.status === 'error' &&
            row.error_type === 'model_not_allowed' &&
            row.channel_id === null &&
            row.prompt_tokens === 0 &&
            row.completion_tokens === 0,
        ),
        'each an error with no channel and no tokens: no upstream call is pretended',
      )

      t.same(await v1Models(gateway, bob.token), MODELS, 'another group is not affected')
      t.same(await everyEndpoint(gateway, bob, 'gpt-4o-mini'), [200, 200, 200, 200], 'and its members call as before')
    })

    t.test('a list: exactly its models', async t => {
      await setModels(setup, 'default', ['gpt-4o', 'not-in-the-catalog'])
      t.same(await v1Models(gateway, ada.token), ['gpt-4o'], '/v1/models lists the listed models the group is served')
      t.same(await chatModels(gateway, { authorization: `Bearer ${ada.session}` }), ['gpt-4o'], '/api/chat/models too')
      const before = upstream.requests.length
      t.same(await everyEndpoint(gateway, ada, 'gpt-4o'), [200, 200, 200, 200], 'gpt-4o is served everywhere')
      t.equal(upstream.requests.length, before + 4)
      t.same(
        await everyEndpoint(gateway, ada, 'gpt-4o-mini'),
        [403, 403, 403, 403],
        'gpt-4o-mini is refused everywhere',
      )
      t.same(await everyEndpoint(gateway, ada, 'o3-mini'), [403, 403, 403, 403], 'o3-mini too')
      t.equal(upstream.requests.length, before + 4, 'the refused calls reached no upstream')
      const unknown = await refusal(
        t,
        sdk(gateway, ada.token).chat.completions.create({ model: 'not-in-the-catalog', messages: ask }),
      )
      t.equal(unknown.status, 404, 'a listed name the catalog lacks is still unknown')
    })

    t.test('the zh-CN message with Accept-Language: zh-CN', async t => {
      const client = sdk(gateway, ada.token)
      const chinese = await refusal(
        t,
        client.chat.completions.create(
          { model: 'gpt-4o-mini', messages: ask },
          { headers: { 'accept-language': 'zh-CN,zh;q=0.9,en;q=0.8' } },
        ),
      )
      t.equal(chinese.status, 403)
      t.match(chinese.error, { type: 'model_not_allowed', message: '你所在的分组无权使用模型 gpt-4o-mini' })
      const portal = await post(
        gateway,
        '/api/chat/completions',
        { model: 'o3-mini', messages: ask },
        { authorization: `Bearer ${ada.session}`, 'accept-language': 'zh-CN' },
      )
      t.match(await portal.json(), {
        error: { type: 'model_not_allowed', message: '你所在的分组无权使用模型 o3-mini' },
      })
      const english = await refusal(
        t,
        client.chat.completions.create(
          { model: 'gpt-4o-mini', messages: ask },
          { headers: { 'accept-language': 'en-GB' } },
        ),
      )
      t.equal(
        english.error && (english.error as { message?: string }).message,
        'Your group may not use model gpt-4o-mini',
      )
    })

    t.test('model_passthrough: the list still restricts what may be forwarded', async t => {
      await gateway.settings.set('model_passthrough', true)
      t.teardown(() => gateway.settings.set('model_passthrough', false))
      const before = upstream.requests.length
      const client = sdk(gateway, ada.token)
      t.equal(
        await statusOf(client.chat.completions.create({ model: 'some-upstream-only-model', messages: ask })),
        403,
        'a name outside the list is not forwarded',
      )
      t.equal(
        await statusOf(client.chat.completions.create({ model: 'gpt-4o-mini', messages: ask })),
        403,
        'nor a catalog model outside it',
      )
      t.equal(upstream.requests.length, before, 'nothing reached the upstream')
      t.equal(
        await statusOf(client.chat.completions.create({ model: 'gpt-4o', messages: ask })),
        200,
        'a listed model is forwarded',
      )
      t.equal(
        await statusOf(
          sdk(gateway, bob.token).chat.completions.create({ model: 'some-upstream-only-model', messages: ask }),
        ),
        200,
        'a group without a list forwards any name',
      )
    })

    t.test('guests of the default group get its list', async t => {
      await gateway.settings.set('allow_guest', true)
      t.teardown(() => gateway.settings.set('allow_guest', false))
      t.same(await chatModels(gateway, {}), ['gpt-4o'], '/api/chat/models for a guest')
      t.equal(
        (await post(gateway, '/api/chat/completions', { model: 'gpt-4o-mini', messages: ask })).status,
        403,
        'a guest is refused another model',
      )
      t.equal(
        (await post(gateway, '/api/chat/completions', { model: 'gpt-4o', messages: ask })).status,
        200,
        'and served a listed one',
      )
      await setModels(setup, 'default', [])
      t.same(await chatModels(gateway, {}), [], 'a change reaches guests at once')
    })

    t.test('null again: every model, at once', async t => {
      const saved = await setModels(setup, 'default', null)
      t.equal(saved.models, null)
      t.same(await v1Models(gateway, ada.token), MODELS)
      t.same(await chatModels(gateway, { authorization: `Bearer ${ada.session}` }), MODELS)
      t.same(await everyEndpoint(gateway, ada, 'gpt-4o-mini'), [200, 200, 200, 200])
    })

    t.test("moving a user to a group with a list applies that group's list", async t => {
      await setModels(setup, 'open', ['o3-mini'])
      t.same(await v1Models(gateway, bob.token), ['o3-mini'])
      await admin(setup, 'PUT', `/api/admin/users/${ada.id}`, { group: 'open' })
      t.same(await v1Models(gateway, ada.token), ['o3-mini'], 'the moved user at once')
      t.same(await everyEndpoint(gateway, ada, 'gpt-4o'), [403, 403, 403, 403])
    })
  })
}

t.test(
  'a change of the list on one instance applies on the others at once',
  { skip: missingService('mysql') || missingService('redis') },
  async t => {
    const upstream = await bootUpstream(t, { keys: [KEY] })
    // Two gateways on one database and one Redis prefix, as behind a load balancer.
    const one = await createTestGateway({
      plugins: [identity, openai],
      listen: true,
      config: { admin: ADMIN },
      mysqlUrl: testServices.mysqlUrl,
      redisUrl: testServices.redisUrl,
    })
    const b = await createTestGateway({
      plugins: [identity, openai],
      listen: true,
      config: { admin: ADMIN },
      sharedWith: one,
    })
    t.teardown(async () => {
      await b.close()
      await one.close()
    })
    const a = await signIn(one)
    await createChannel(a.gateway, { name: 'main', base_url: upstream.url, keys: [KEY], models: MODELS }, a.admin)
    await until(() => b.catalog.current().channels.length === 1, 'the channel on the second instance')
    const ada = await member(a.gateway, 'ada')

    t.same(await v1Models(b, ada.token), MODELS, 'the second instance caches the user with no list')
    await setModels(a, 'default', ['gpt-4o-mini'])
    let listed: string[] = []
    const deadline = Date.now() + 2000
    while (Date.now() < deadline) {
      listed = await v1Models(b, ada.token)
      if (listed.length === 1) break
      await new Promise(resolve => setTimeout(resolve, 20))
    }
    t.same(listed, ['gpt-4o-mini'], 'the second instance dropped its cached user (not after the 10 s cache)')
    t.equal(await statusOf(sdk(b, ada.token).chat.completions.create({ model: 'gpt-4o', messages: ask })), 403)
  },
)
