import t from 'tap'
import { definePlugin, type Principal } from '@parley/core'
import { createTestGateway, missingService, pendingSchemaChanges, testServices } from '@parley/core/testing'
import { BlockMatcher, canonicalRule, exemptFromBlocklist } from '../src/blocklist/blocklist.js'
import { pruneBlockedAttempts } from '../src/blocklist/retention.js'
import { BlockedAttempt } from '../src/blocklist/entities.js'

const callers = definePlugin({
  id: 'blocklist-callers',
  version: '1.0.0',
  setup(ctx) {
    ctx.auth.register('fixture', {
      async authenticate(request): Promise<Principal | undefined> {
        const token = request.headers.authorization?.replace(/^Bearer /, '')
        if (token === 'root') return { kind: 'user', userId: '1', role: 'root', group: 'default', name: 'root' }
        if (token === 'ada') return { kind: 'user', userId: '2', role: 'user', group: 'default', name: 'ada' }
        return undefined
      },
    })
  },
})

t.test('rules are written out canonically; nonsense and /0 are refused', async t => {
  const cases: Array<[string, string | undefined]> = [
    ['203.0.113.7', '203.0.113.7/32'],
    [' 203.0.113.7 ', '203.0.113.7/32'],
    ['203.0.113.7/24', '203.0.113.0/24'],
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['2001:DB8::1', '2001:db8::1/128'],
    ['2001:db8:1:2::/32', '2001:db8::/32'],
    ['::ffff:203.0.113.7', '203.0.113.7/32'],
    ['::ffff:203.0.113.0/120', '203.0.113.0/24'],
    ['0.0.0.0/0', undefined],
    ['::/0', undefined],
    ['203.0.113', undefined],
    ['0x7f.1', undefined],
    ['2130706433', undefined],
    ['203.0.113.7/33', undefined],
    ['2001:db8::/129', undefined],
    ['fe80::1%eth0', undefined],
    ['example.com', undefined],
    ['', undefined],
  ]
  for (const [input, expected] of cases) t.equal(canonicalRule(input), expected, JSON.stringify(input))
})

t.test('matching covers range edges, IPv6 and IPv4-mapped clients', async t => {
  const matcher = new BlockMatcher(['10.0.0.0/8', '198.51.100.7/32', '2001:db8::/32', '2001:db8:ffff::1/128'])
  const cases: Array<[string, string | undefined]> = [
    ['10.0.0.0', '10.0.0.0/8'],
    ['10.255.255.255', '10.0.0.0/8'],
    ['9.255.255.255', undefined],
    ['11.0.0.0', undefined],
    ['198.51.100.7', '198.51.100.7/32'],
    ['198.51.100.6', undefined],
    ['198.51.100.8', undefined],
    ['::ffff:10.1.2.3', '10.0.0.0/8'],
    ['::ffff:198.51.100.7', '198.51.100.7/32'],
    ['2001:db8::', '2001:db8::/32'],
    ['2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', '2001:db8::/32'],
    ['2001:db9::', undefined],
    ['2001:db7:ffff:ffff:ffff:ffff:ffff:ffff', undefined],
    ['127.0.0.1', undefined],
    ['not an ip', undefined],
  ]
  for (const [ip, expected] of cases) t.equal(matcher.match(ip), expected, ip)
  t.equal(new BlockMatcher([]).match('10.0.0.1'), undefined)
})

t.test(
  'the admin console, its API, admin sign-in and probes are exempt; everything else (metrics and docs too) is not',
  async t => {
    for (const route of [
      '/admin',
      '/admin/channels',
      '/api/admin/blocked-ips',
      '/api/admin/channels/:id',
      '/api/auth/admin/login',
      '/healthz',
      '/readyz',
    ])
      t.ok(exemptFromBlocklist(route), route)
    for (const route of [
      '/metrics',
      '/docs',
      '/docs/json',
      '/v1/chat/completions',
      '/api/chat/completions',
      '/api/auth/login',
      '/',
      '/administrator',
      '/api/administer',
      undefined,
    ])
      t.notOk(exemptFromBlocklist(route), String(route))
  },
)

const dialects = [
  { name: 'sqlite', skip: false as string | false, mysqlUrl: undefined as string | undefined },
  { name: 'mysql', skip: missingService('mysql'), mysqlUrl: testServices.mysqlUrl },
]

for (const dialect of dialects) {
  t.test(`${dialect.name}: blocking through the admin API`, { skip: dialect.skip }, async t => {
    const gateway = await createTestGateway({
      plugins: [callers],
      mysqlUrl: dialect.mysqlUrl,
      config: { server: { trust_proxy: ['127.0.0.1'] } },
    })
    t.teardown(gateway.close)
    t.same(await pendingSchemaChanges(gateway), [], 'the migration matches the entities')
    const as = (ip: string, token?: string) => ({
      'x-forwarded-for': ip,
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    })
    const admin = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object, ip = '192.0.2.1') =>
      gateway.inject({ method, url, headers: as(ip, 'root'), ...(payload ? { payload } : {}) })

    const bad = await admin('POST', '/api/admin/blocked-ips', { ip_address: '10.0.0.0/0' })
    t.equal(bad.statusCode, 400)
    t.equal(bad.json().error.type, 'invalid_request')
    const created = await admin('POST', '/api/admin/blocked-ips', { ip_address: '203.0.113.77/24', reason: 'scraper' })
    t.equal(created.statusCode, 201)
    t.match(created.json(), { ip_address: '203.0.113.0/24', reason: 'scraper', created_by: 'root' })
    const twice = await admin('POST', '/api/admin/blocked-ips', { ip_address: '203.0.113.5/24' })
    t.equal(twice.statusCode, 409, 'the same range written differently is the same rule')
    await admin('POST', '/api/admin/blocked-ips', { ip_address: '2001:db8::/32' })
    const user = await gateway.inject({
      method: 'POST',
      url: '/api/admin/blocked-ips',
      headers: as('192.0.2.1', 'ada'),
      payload: { ip_address: '192.0.2.9' },
    })
    t.equal(user.statusCode, 403, 'only admins manage the list')

    const blocked = await gateway.inject({
      method: 'GET',
      url: '/api/chat/models?secret=abc',
      headers: as('203.0.113.200', 'ada'),
    })
    t.equal(blocked.statusCode, 403)
    t.same(blocked.json().error.type, 'ip_blocked')
    t.notMatch(blocked.body, /203\.0\.113\.0/, 'the rule is not revealed')
    const v6 = await gateway.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: as('2001:db8:1::5', 'ada'),
      payload: { model: 'x', messages: [{ role: 'user', content: 'hi' }] },
    })
    t.equal(v6.statusCode, 403, 'IPv6 ranges apply to the data plane')
    const unknown = await gateway.inject({ method: 'GET', url: '/no/such/route', headers: as('203.0.113.1') })
    t.equal(unknown.statusCode, 403, 'a route that does not exist is not an exemption')
    t.equal(
      (await gateway.inject({ method: 'GET', url: '/api/chat/models', headers: as('203.0.114.1', 'ada') })).statusCode,
      200,
      'the next /24 is not blocked',
    )

    t.equal(
      (await admin('GET', '/api/admin/blocked-ips', undefined, '203.0.113.9')).statusCode,
      200,
      'the admin API answers a blocked address',
    )
    t.equal(
      (await gateway.inject({ method: 'GET', url: '/healthz', headers: as('203.0.113.9') })).statusCode,
      200,
      'probes are never blocked',
    )

    const attempts = await admin('GET', '/api/admin/blocked-ips/attempts')
    t.equal(attempts.statusCode, 200)
    t.same(
      attempts.json().items.map((a: Record<string, unknown>) => [a.ip_address, a.method, a.path, a.rule]),
      [
        ['203.0.113.1', 'GET', '/no/such/route', '203.0.113.0/24'],
        ['2001:db8:1::5', 'POST', '/v1/chat/completions', '2001:db8::/32'],
        ['203.0.113.200', 'GET', '/api/chat/models', '203.0.113.0/24'],
      ],
      'every refusal is recorded, newest first, without the query string',
    )
    t.equal(
      (await admin('GET', '/api/admin/blocked-ips/attempts?ip=2001:db8:1::5')).json().total,
      1,
      'filter by address',
    )
    for (const url of ['/metrics', '/docs', '/docs/json']) {
      t.equal(
        (await gateway.inject({ method: 'GET', url, headers: as('203.0.113.9') })).statusCode,
        403,
        `${url} refuses a blocked address`,
      )
    }

    const list = await admin('GET', '/api/admin/blocked-ips')
    const id = list.json().items.find((item: { ip_address: string }) => item.ip_address === '203.0.113.0/24').id
    t.equal((await admin('DELETE', `/api/admin/blocked-ips/${id}`)).statusCode, 204)
    t.equal((await admin('DELETE', `/api/admin/blocked-ips/${id}`)).statusCode, 404)
    t.equal(
      (await gateway.inject({ method: 'GET', url: '/api/chat/models', headers: as('203.0.113.200', 'ada') }))
        .statusCode,
      200,
      'unblocked at once',
    )
  })

  t.test(`${dialect.name}: retention prunes exactly the old refused attempts`, { skip: dialect.skip }, async t => {
    const gateway = await createTestGateway({ plugins: [callers], mysqlUrl: dialect.mysqlUrl })
    t.teardown(gateway.close)
    const em = gateway.db.em()
    const now = Date.now()
    const day = 86_400_000
    for (let i = 0; i < 25; i++)
      em.create(BlockedAttempt, {
        createdAt: new Date(now - (i % 5) * day - 60_000),
        ip: `198.51.100.${i}`,
        method: 'GET',
        path: '/',
        rule: '198.51.100.0/24',
      })
    await em.flush()
    const before = new Date(now - 2 * day)
    const context = { now: new Date(now), before, batchSize: 4, signal: new AbortController().signal }
    t.equal(
      await pruneBlockedAttempts(() => gateway.db.em(), context),
      15,
      'rows older than two days go, in batches of 4',
    )
    t.equal(await pruneBlockedAttempts(() => gateway.db.em(), context), 0, 'a second run finds nothing')
    const left = await gateway.db.em().find(BlockedAttempt, {})
    t.equal(left.length, 10)
    t.ok(left.every(row => row.createdAt >= before))
    t.ok(gateway.registries.retention.has('blocked-attempts'), 'registered for the daily job')
  })
}

t.test('a block reaches another instance of the deployment', { skip: missingService('redis') }, async t => {
  const first = await createTestGateway({
    plugins: [callers],
    redisUrl: testServices.redisUrl,
    config: { server: { trust_proxy: ['127.0.0.1'] } },
  })
  t.teardown(first.close)
  const second = await createTestGateway({
    plugins: [callers],
    sharedWith: first,
    config: { server: { trust_proxy: ['127.0.0.1'] } },
  })
  t.teardown(second.close)
  const created = await first.inject({
    method: 'POST',
    url: '/api/admin/blocked-ips',
    headers: { authorization: 'Bearer root' },
    payload: { ip_address: '198.51.100.0/24' },
  })
  t.equal(created.statusCode, 201)
  const deadline = Date.now() + 3000
  let status = 0
  while (Date.now() < deadline) {
    status = (
      await second.inject({
        method: 'GET',
        url: '/api/chat/models',
        headers: { 'x-forwarded-for': '198.51.100.4', authorization: 'Bearer ada' },
      })
    ).statusCode
    if (status === 403) break
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  t.equal(status, 403, 'the second instance refuses the address within moments')
})
