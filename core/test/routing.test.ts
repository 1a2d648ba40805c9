import t from 'tap'
import { definePlugin, type CatalogSnapshot, type Principal, type RoutableChannel } from '@parley/core'
import { candidates } from '../src/catalog/routing.js'
import { createTestGateway, missingService, testServices } from '@parley/core/testing'

type ChannelFields = Partial<Omit<RoutableChannel, 'models' | 'groups'>> & {
  models?: Record<string, string>
  groups?: string[]
}

function channel(id: number, fields: ChannelFields = {}): RoutableChannel {
  return {
    id,
    name: `ch${id}`,
    provider: 'mock',
    baseUrl: 'https://1.1.1.1/v1',
    rpmLimit: 0,
    priority: 0,
    weight: 1,
    settings: {},
    keys: [{ id: id * 10, key: `key-${id}` }],
    ...fields,
    groups: new Set(fields.groups ?? ['default']),
    models: new Map(Object.entries(fields.models ?? { 'gpt-4o': 'gpt-4o' })),
  }
}

function snapshot(
  channels: RoutableChannel[],
  routes: Record<string, number> = {},
  models = ['gpt-4o', 'smart'],
): CatalogSnapshot {
  return {
    channels,
    models: new Map(models.map(name => [name, { name, displayName: name, reasoning: false, vision: false }])),
    chatRoutes: new Map(Object.entries(routes)),
    loadedAt: new Date(),
  }
}

t.test('routing: group, model, priority, weight', async t => {
  const catalog = snapshot([
    channel(1, { priority: 0 }),
    channel(2, { priority: 10 }),
    channel(3, { priority: 10, weight: 3 }),
    channel(4, { groups: ['vip'], priority: 99 }),
    channel(5, { models: { smart: 'gpt-4o-2024' } }),
  ])
  const ids = (list: ReturnType<typeof candidates>) => list.map(c => c.channel.id)
  const order = ids(candidates(catalog, { model: 'gpt-4o', group: 'default', chat: false }))
  t.same(order.slice(2), [1], 'the lower priority comes last')
  t.same(order.slice(0, 2).sort(), [2, 3], 'higher priority first')
  t.notOk(order.includes(4), 'a channel not serving the group is skipped')
  t.notOk(order.includes(5), 'a channel not binding the model is skipped')
  t.same(
    candidates(catalog, { model: 'smart', group: 'default', chat: false }).map(c => c.upstreamModel),
    ['gpt-4o-2024'],
    'alias → upstream name',
  )

  // Weight 3 against weight 1 in one tier: about three quarters of first picks.
  let heavyFirst = 0
  for (let i = 0; i < 4000; i++)
    if (candidates(catalog, { model: 'gpt-4o', group: 'default', chat: false })[0]?.channel.id === 3) heavyFirst++
  t.ok(heavyFirst > 2800 && heavyFirst < 3200, `weight 3 of 4 led ${heavyFirst} of 4000 times`)

  t.throws(() => candidates(catalog, { model: 'unknown', group: 'default', chat: false }), {
    code: 'PARLEY_ERR_ROUTE_MODEL_UNKNOWN',
  })
  t.throws(() => candidates(catalog, { model: 'gpt-4o', group: 'nobody', chat: false }), {
    code: 'PARLEY_ERR_ROUTE_NO_CHANNEL',
  })
  t.same(
    ids(candidates(catalog, { model: 'anything-new', group: 'vip', chat: false, passthrough: true })),
    [4],
    'passthrough forwards unknown names',
  )
})

t.test('routing: chat routes pin portal traffic to one channel', async t => {
  const catalog = snapshot([channel(1, { priority: 50 }), channel(2, { models: { smart: 'smart-up' } })], {
    default: 2,
  })
  t.same(
    candidates(catalog, { model: 'smart', group: 'default', chat: true }).map(c => [c.channel.id, c.upstreamModel]),
    [[2, 'smart-up']],
  )
  t.throws(() => candidates(catalog, { model: 'gpt-4o', group: 'default', chat: true }), {
    code: 'PARLEY_ERR_ROUTE_MODEL_NOT_ON_CHAT_CHANNEL',
    message: /ch2 .* gpt-4o/,
  })
  t.same(
    candidates(catalog, { model: 'gpt-4o', group: 'default', chat: false }).map(c => c.channel.id),
    [1],
    '/v1 traffic is not pinned',
  )
  const disabled = snapshot([channel(1)], { default: 2 })
  t.throws(() => candidates(disabled, { model: 'gpt-4o', group: 'default', chat: true }), {
    code: 'PARLEY_ERR_ROUTE_CHAT_CHANNEL_DOWN',
  })
})

const admin = definePlugin({
  id: 'routing-fixtures',
  version: '1.0.0',
  setup(ctx) {
    ctx.auth.register('header', {
      async authenticate(): Promise<Principal> {
        return { kind: 'user', userId: '1', role: 'root', group: 'default', name: 'root' }
      },
    })
    ctx.providers.register('mock', {
      async *chat() {
        yield { type: 'done', finishReason: 'stop' }
      },
    })
  },
})
const body = {
  name: 'main',
  provider: 'mock',
  base_url: 'https://1.1.1.1/v1',
  keys: ['sk-live-0123456789abcdef'],
  models: ['gpt-4o'],
}

t.test('the snapshot holds opened keys and follows changes', async t => {
  const gateway = await createTestGateway({ plugins: [admin] })
  t.teardown(gateway.close)
  t.same(gateway.catalog.current().channels, [], 'empty at first')
  const created = await gateway.inject({ method: 'POST', url: '/api/admin/channels', payload: body })
  t.equal(created.statusCode, 201)
  await waitFor(() => gateway.catalog.current().channels.length === 1)
  const [routable] = gateway.catalog.current().channels
  t.same(
    routable?.keys.map(k => k.key),
    ['sk-live-0123456789abcdef'],
    'keys are opened once, into memory',
  )
  t.ok(gateway.catalog.current().models.has('gpt-4o'))
  await gateway.inject({ method: 'PUT', url: `/api/admin/channels/${created.json().id}`, payload: { enabled: false } })
  await waitFor(() => gateway.catalog.current().channels.length === 0)
  t.pass('a disabled channel leaves the snapshot')
})

t.test(
  'two instances on MySQL and Redis: a change on one reaches the other',
  { skip: missingService('mysql') || missingService('redis') },
  async t => {
    const a = await createTestGateway({
      plugins: [admin],
      mysqlUrl: testServices.mysqlUrl,
      redisUrl: testServices.redisUrl,
    })
    const b = await createTestGateway({ plugins: [admin], sharedWith: a })
    t.teardown(async () => {
      await b.close()
      await a.close()
    })
    t.equal((await a.inject({ method: 'POST', url: '/api/admin/channels', payload: body })).statusCode, 201)
    const started = Date.now()
    await waitFor(() => b.catalog.current().channels.length === 1)
    t.ok(Date.now() - started < 1000, `instance B reloaded within ${Date.now() - started} ms`)
  },
)

async function waitFor(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}
