import OpenAI from 'openai'
import t from 'tap'
import { definePlugin, type Principal } from '@parley/core'
import { createTestGateway, type TestGateway } from '@parley/core/testing'

// Bearer tokens name the caller's group; no token is a guest. Admin calls use the root token.
const fixtures = definePlugin({
  id: 'models-fixtures',
  version: '1.0.0',
  setup(ctx) {
    ctx.auth.register('fixture', {
      async authenticate(request): Promise<Principal | undefined> {
        const token = request.headers.authorization?.replace(/^Bearer /, '')
        if (token === 'root') return { kind: 'user', userId: '1', role: 'root', group: 'default', name: 'root' }
        if (token?.startsWith('group-'))
          return { kind: 'api_token', tokenId: '7', userId: '2', role: 'user', group: token.slice(6), name: 'ada' }
        if (request.headers['x-guest'] === '1') return { kind: 'guest', ip: request.ip, group: 'default' }
        return undefined
      },
    })
    ctx.providers.register('mock', {
      async *chat() {
        yield { type: 'done', finishReason: 'stop' }
      },
    })
  },
})

async function channel(gateway: TestGateway, name: string, groups: string[], models: string[]): Promise<number> {
  const response = await gateway.inject({
    method: 'POST',
    url: '/api/admin/channels',
    headers: { authorization: 'Bearer root' },
    payload: {
      name,
      provider: 'mock',
      base_url: 'https://1.1.1.1/v1',
      keys: ['sk-test-0000000000000000'],
      models,
      groups,
    },
  })
  if (response.statusCode !== 201) throw new Error(response.body)
  return response.json().id
}

/** Catalog changes reach the snapshot asynchronously (as on every instance): wait for it. */
async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 3000
  while (!check()) {
    if (Date.now() > deadline) throw new Error('the catalog snapshot did not catch up')
    await new Promise(r => setTimeout(r, 10))
  }
}
const settle = (gateway: TestGateway, channels: number) =>
  until(() => gateway.catalog.current().channels.length === channels)

t.test("GET /v1/models through the official openai SDK lists what the caller's group may use", async t => {
  const gateway = await createTestGateway({ plugins: [fixtures], listen: true })
  t.teardown(gateway.close)
  await channel(gateway, 'main', ['default'], ['gpt-4o-mini', 'gpt-4o'])
  await channel(gateway, 'vip', ['vip'], ['o3'])
  await settle(gateway, 2)
  await gateway.inject({
    method: 'PUT',
    url: '/api/admin/models/gpt-4o',
    headers: { authorization: 'Bearer root' },
    payload: { enabled: false },
  })
  await until(() => !gateway.catalog.current().models.has('gpt-4o'))

  const client = (group: string) =>
    new OpenAI({ apiKey: `group-${group}`, baseURL: `${gateway.url}/v1`, maxRetries: 0 })
  const listed = async (group: string) => {
    const ids: string[] = []
    for await (const model of client(group).models.list()) ids.push(model.id)
    return ids
  }
  t.same(await listed('default'), ['gpt-4o-mini'], 'a disabled model is not listed')
  t.same(await listed('vip'), ['o3'])
  t.same(await listed('nobody'), [])
  const page = await client('default').models.list()
  t.match(page.data[0], { id: 'gpt-4o-mini', object: 'model', owned_by: 'parley' })

  const status = (promise: Promise<unknown>) =>
    promise.then(
      () => 200,
      (error: { status?: number }) => error.status,
    )
  t.equal(
    await status(new OpenAI({ apiKey: 'nope', baseURL: `${gateway.url}/v1`, maxRetries: 0 }).models.list()),
    401,
    'no principal, no list',
  )
  await gateway.settings.set('model_passthrough', true)
  t.equal(await status(client('default').models.list()), 404, 'listing is off in passthrough mode')
})

t.test('GET /api/chat/models follows the chat route of the group', async t => {
  const gateway = await createTestGateway({ plugins: [fixtures] })
  t.teardown(gateway.close)
  await channel(gateway, 'main', ['default'], ['gpt-4o-mini', 'gpt-4o'])
  const chatOnly = await channel(gateway, 'chat', ['default'], ['deepseek-r1'])
  await gateway.inject({
    method: 'PUT',
    url: '/api/admin/models/deepseek-r1',
    headers: { authorization: 'Bearer root' },
    payload: { reasoning: true, display_name: 'DeepSeek R1' },
  })
  await settle(gateway, 2)
  await until(() => gateway.catalog.current().models.get('deepseek-r1')?.reasoning === true)
  const models = async (headers: Record<string, string>) =>
    (await gateway.inject({ url: '/api/chat/models', headers })).json()
  t.same(
    (await models({ 'x-guest': '1' })).items.map((m: { name: string }) => m.name),
    ['deepseek-r1', 'gpt-4o', 'gpt-4o-mini'],
    'without a route: every model of the group',
  )

  await gateway.inject({
    method: 'POST',
    url: '/api/admin/chat-routes',
    headers: { authorization: 'Bearer root' },
    payload: { group_name: 'default', channel_id: chatOnly },
  })
  await until(() => gateway.catalog.current().chatRoutes.has('default'))
  t.same(
    (await models({ 'x-guest': '1' })).items,
    [{ name: 'deepseek-r1', display_name: 'DeepSeek R1', reasoning: true, vision: false }],
    "with a route: only that channel's models",
  )
  t.equal((await gateway.inject({ url: '/api/chat/models' })).statusCode, 401, 'anonymous without guest access')
})
