import t, { type Test } from 'tap'
import { definePlugin, requireUser, type Gateway } from '@parley/core'
import identity from '@parley/identity'
import { createTestGateway, missingService, testServices, type TestGateway } from '@parley/core/testing'

// API tokens and the portal's chat token, on every dialect.

const dialects = [
  { name: 'sqlite', skip: false as string | false, mysqlUrl: undefined as string | undefined },
  { name: 'mysql', skip: missingService('mysql'), mysqlUrl: testServices.mysqlUrl },
]

const PASSWORD = 'correct-horse-battery'
const ADMIN = { username: 'admin', password: 'admin-password-0' }
const TOKEN_SHAPE = /^prl_[0-9A-Za-z]{46}$/

/** A route that accepts API tokens, as the data plane's will: who is calling? */
const probe = definePlugin({
  id: 'probe',
  version: '1.0.0',
  requires: ['identity'],
  setup(ctx) {
    ctx.http.get('/api/probe/whoami', async request => {
      const principal = await requireUser(request, { apiTokens: true })
      return { kind: principal.kind, user_id: principal.userId, name: principal.name }
    })
  },
})

interface NewToken {
  id: number
  name: string
  token: string
  hint: string
  created_at: string
  last_used_at: string | null
}
interface Reply {
  statusCode: number
  body: string
  json(): unknown
}

for (const dialect of dialects) {
  const boot = async (t: Test): Promise<TestGateway> => {
    const gateway = await createTestGateway({
      plugins: [identity, probe],
      mysqlUrl: dialect.mysqlUrl,
      config: { admin: ADMIN },
    })
    t.teardown(gateway.close)
    return gateway
  }

  t.test(`${dialect.name}: API tokens`, { skip: dialect.skip }, async t => {
    t.test('creation shows the plaintext once; the list never does, but shows hint and last use', async t => {
      const gateway = await boot(t)
      const session = await signUp(gateway)
      const response = await call(gateway, 'POST', '/api/tokens', session, { name: ' ci ' })
      t.equal(response.statusCode, 201)
      const created = response.json() as NewToken
      t.match(created, { id: Number, name: 'ci', token: TOKEN_SHAPE, created_at: String, last_used_at: null })
      t.equal(created.hint, `prl_…${created.token.slice(-4)}`, 'the hint is the prefix and the last four characters')
      t.ok(Number.isFinite(Date.parse(created.created_at)))

      const listed = await call(gateway, 'GET', '/api/tokens', session)
      t.equal(listed.statusCode, 200)
      t.match(listed.json(), {
        items: [{ id: created.id, name: 'ci', hint: created.hint, created_at: String, last_used_at: null }],
        total: 1,
        page: 1,
        page_size: 1,
      })
      const item = (listed.json() as { items: Array<Record<string, unknown>> }).items[0] ?? {}
      t.same(
        Object.keys(item).sort(),
        [
          'allowed_ips',
          'created_at',
          'enabled',
          'expires_at',
          'hint',
          'id',
          'last_used_at',
          'models',
          'name',
          'quota',
          'rpm',
          'used_tokens',
        ],
        'no token and no hash in a list item',
      )
      // MySQL keeps whole seconds (datetime without fraction); the creation answer has milliseconds.
      t.ok(
        Math.abs(Date.parse(String(item.created_at)) - Date.parse(created.created_at)) <= 1000,
        'the same creation time',
      )
      t.notMatch(listed.body, created.token.slice(4), 'the secret is nowhere in the list')

      t.equal((await whoami(gateway, { authorization: `Bearer ${created.token}` })).statusCode, 200)
      const used = await until(async () => {
        const items = ((await call(gateway, 'GET', '/api/tokens', session)).json() as { items: NewToken[] }).items
        return items[0]?.last_used_at ?? undefined
      })
      t.ok(
        used !== undefined && Date.parse(used) >= Date.parse(created.created_at) - 1000,
        `last_used_at is set after use (${used})`,
      )
    })

    t.test('authenticates as Authorization: Bearer and as x-api-key, as its owner', async t => {
      const gateway = await boot(t)
      const session = await signUp(gateway)
      const { token } = (await call(gateway, 'POST', '/api/tokens', session, { name: 'ci' })).json() as NewToken
      const me = (await call(gateway, 'GET', '/api/users/me', session)).json() as { id: number }
      const expected = { kind: 'api_token', user_id: String(me.id), name: 'Ada' }
      t.same((await whoami(gateway, { authorization: `Bearer ${token}` })).json(), expected)
      t.same((await whoami(gateway, { 'x-api-key': token })).json(), expected)
      t.same(
        (await whoami(gateway, { authorization: `Bearer ${session}` })).json(),
        { ...expected, kind: 'user' },
        'the probe sees sessions too',
      )
      t.match((await whoami(gateway, {})).json(), { error: { type: 'unauthorized' } }, 'and nobody without credentials')
    })

    t.test('an API token cannot manage tokens or the account', async t => {
      const gateway = await boot(t)
      const session = await signUp(gateway)
      const created = (await call(gateway, 'POST', '/api/tokens', session, { name: 'ci' })).json() as NewToken
      for (const [method, url, body] of [
        ['GET', '/api/tokens', undefined],
        ['POST', '/api/tokens', { name: 'more' }],
        ['POST', `/api/tokens/${created.id}/regenerate`, undefined],
        ['DELETE', `/api/tokens/${created.id}`, undefined],
        ['POST', '/api/chat/token', undefined],
        ['GET', '/api/users/me', undefined],
      ] as const) {
        const response = await call(gateway, method, url, created.token, body)
        t.equal(response.statusCode, 401, `${method} ${url}`)
      }
      t.equal(
        ((await call(gateway, 'GET', '/api/tokens', session)).json() as { total: number }).total,
        1,
        'nothing was minted',
      )
    })

    t.test('regenerate: the old secret fails at once, the new one works', async t => {
      const gateway = await boot(t)
      const session = await signUp(gateway)
      const created = (await call(gateway, 'POST', '/api/tokens', session, { name: 'ci' })).json() as NewToken
      t.equal((await whoami(gateway, { 'x-api-key': created.token })).statusCode, 200, 'used once, so it is cached')
      const response = await call(gateway, 'POST', `/api/tokens/${created.id}/regenerate`, session)
      t.equal(response.statusCode, 200)
      const renewed = response.json() as NewToken
      t.match(renewed, { id: created.id, name: 'ci', token: TOKEN_SHAPE, last_used_at: null })
      t.not(renewed.token, created.token)
      t.equal(renewed.hint, `prl_…${renewed.token.slice(-4)}`)
      refusedKey(t, await whoami(gateway, { 'x-api-key': created.token }), 'old secret')
      refusedKey(t, await whoami(gateway, { authorization: `Bearer ${created.token}` }), 'old secret as Bearer')
      t.equal((await whoami(gateway, { 'x-api-key': renewed.token })).statusCode, 200, 'new secret')
      const used = await until(async () => {
        const items = ((await call(gateway, 'GET', '/api/tokens', session)).json() as { items: NewToken[] }).items
        return items[0]?.last_used_at ?? undefined
      })
      t.ok(used, 'the new secret records its own last use (the old one was used a moment ago)')
    })

    t.test('delete: the token fails at once and leaves the list', async t => {
      const gateway = await boot(t)
      const session = await signUp(gateway)
      const created = (await call(gateway, 'POST', '/api/tokens', session, { name: 'ci' })).json() as NewToken
      const kept = (await call(gateway, 'POST', '/api/tokens', session, { name: 'kept' })).json() as NewToken
      t.equal((await whoami(gateway, { 'x-api-key': created.token })).statusCode, 200)
      const response = await call(gateway, 'DELETE', `/api/tokens/${created.id}`, session)
      t.equal(response.statusCode, 204)
      t.equal(response.body, '')
      refusedKey(t, await whoami(gateway, { 'x-api-key': created.token }), 'deleted token')
      t.same(
        ((await call(gateway, 'GET', '/api/tokens', session)).json() as { items: NewToken[] }).items.map(i => i.name),
        ['kept'],
      )
      t.equal((await whoami(gateway, { 'x-api-key': kept.token })).statusCode, 200, 'the other token is untouched')
      t.match(
        (await call(gateway, 'DELETE', `/api/tokens/${created.id}`, session)).json(),
        { error: { type: 'not_found' } },
        'a second delete is 404',
      )
    })

    t.test('concurrent creations with one name: one token, the others 409', async t => {
      const gateway = await boot(t)
      const session = await signUp(gateway)
      const answers = await Promise.all(
        [1, 2, 3].map(() => call(gateway, 'POST', '/api/tokens', session, { name: 'ci' })),
      )
      t.same(answers.map(a => a.statusCode).sort(), [201, 409, 409])
      for (const answer of answers.filter(a => a.statusCode === 409))
        t.match(answer.json(), { error: { type: 'token_name_taken' } })
      t.equal(((await call(gateway, 'GET', '/api/tokens', session)).json() as { total: number }).total, 1)
    })

    t.test('names are unique per user and validated', async t => {
      const gateway = await boot(t)
      const ada = await signUp(gateway)
      const bob = await signUp(gateway, 'bob@example.com', 'Bob')
      t.equal((await call(gateway, 'POST', '/api/tokens', ada, { name: 'ci' })).statusCode, 201)
      const duplicate = await call(gateway, 'POST', '/api/tokens', ada, { name: 'ci' })
      t.equal(duplicate.statusCode, 409)
      t.match(duplicate.json(), { error: { type: 'token_name_taken', message: /ci/ } })
      t.equal(
        (await call(gateway, 'POST', '/api/tokens', bob, { name: 'ci' })).statusCode,
        201,
        'another user may use the same name',
      )
      for (const name of ['', '   ', 'x'.repeat(65)]) {
        t.equal(
          (await call(gateway, 'POST', '/api/tokens', ada, { name })).statusCode,
          400,
          `name ${JSON.stringify(name).slice(0, 12)}`,
        )
      }
      t.equal(
        (await call(gateway, 'POST', '/api/tokens', ada, { name: 'x', user_id: 2 })).statusCode,
        400,
        'no other field is accepted',
      )
      t.equal(
        (await call(gateway, 'POST', '/api/tokens', undefined, { name: 'anon' })).statusCode,
        401,
        'a session is required',
      )
    })

    t.test("user A cannot list, regenerate or delete user B's tokens", async t => {
      const gateway = await boot(t)
      const ada = await signUp(gateway)
      const bob = await signUp(gateway, 'bob@example.com', 'Bob')
      const bobs = (await call(gateway, 'POST', '/api/tokens', bob, { name: 'bob-ci' })).json() as NewToken
      t.same(
        (await call(gateway, 'GET', '/api/tokens', ada)).json(),
        { items: [], total: 0, page: 1, page_size: 0 },
        "A's list is empty",
      )
      for (const [method, url] of [
        ['POST', `/api/tokens/${bobs.id}/regenerate`],
        ['DELETE', `/api/tokens/${bobs.id}`],
      ] as const) {
        const response = await call(gateway, method, url, ada)
        t.equal(response.statusCode, 404, `${method} ${url}`)
        t.match(response.json(), { error: { type: 'not_found' } })
        t.notMatch(response.body, /prl_/, 'no secret in the refusal')
      }
      t.same(
        (await whoami(gateway, { 'x-api-key': bobs.token })).json(),
        {
          kind: 'api_token',
          user_id: String(((await call(gateway, 'GET', '/api/users/me', bob)).json() as { id: number }).id),
          name: 'Bob',
        },
        "B's token still works",
      )
      t.equal(((await call(gateway, 'GET', '/api/tokens', bob)).json() as { total: number }).total, 1)
    })

    t.test('a malformed token is refused without a database lookup', async t => {
      const gateway = await boot(t)
      const session = await signUp(gateway)
      const created = (await call(gateway, 'POST', '/api/tokens', session, { name: 'ci' })).json() as NewToken
      // After regenerate the first secret is well-formed but unknown, and was never looked up
      // (so no cache can answer for it).
      await call(gateway, 'POST', `/api/tokens/${created.id}/regenerate`, session)
      const unknown = created.token
      const last = unknown.at(-1) === 'a' ? 'b' : 'a'
      // Asked for the first time only once the database is gone: no cache can answer for them.
      const malformed: Array<[string, string, string]> = [
        ['wrong checksum', unknown.slice(0, -1) + last, 'invalid_api_key'],
        ['truncated', unknown.slice(0, -3), 'invalid_api_key'],
        ['too long', `${unknown}x`, 'invalid_api_key'],
        ['prefix only', 'prl_', 'invalid_api_key'],
        ['wrong prefix', `prk_${unknown.slice(4)}`, 'invalid_token'],
        ['foreign key', `sk-${unknown.slice(4)}`, 'invalid_token'],
      ]
      await gateway.db.close()
      for (const [label, value, type] of malformed) {
        for (const headers of [{ 'x-api-key': value }, { authorization: `Bearer ${value}` }] as Array<
          Record<string, string>
        >) {
          const response = await whoami(gateway, headers)
          t.equal(
            response.statusCode,
            401,
            `${label} (${Object.keys(headers)[0]}): a clean 401 with the database closed`,
          )
          t.match(response.json(), { error: { type } }, `${label}: ${type}`)
        }
      }
      const wellFormed = await whoami(gateway, { 'x-api-key': unknown })
      t.equal(wellFormed.statusCode, 503, 'a well-formed unknown token needs the database, which answers a clear 503')
      t.not(wellFormed.statusCode, 401, 'so without it the gateway cannot refuse it as unknown')
      t.notMatch(wellFormed.body, /prl_|stack|at .*\.ts/, 'and the failure leaks nothing')
    })

    t.test('POST /api/chat/token creates the chat token, then rotates it', async t => {
      const gateway = await boot(t)
      const session = await signUp(gateway)
      const first = await call(gateway, 'POST', '/api/chat/token', session)
      t.equal(first.statusCode, 200)
      const created = first.json() as NewToken
      t.match(created, { id: Number, name: 'chat', token: TOKEN_SHAPE })
      t.equal((await whoami(gateway, { authorization: `Bearer ${created.token}` })).statusCode, 200)

      const rotated = (await call(gateway, 'POST', '/api/chat/token', session)).json() as NewToken
      t.match(rotated, { id: created.id, name: 'chat', token: TOKEN_SHAPE })
      t.not(rotated.token, created.token)
      refusedKey(t, await whoami(gateway, { authorization: `Bearer ${created.token}` }), 'the old chat token')
      t.equal(
        (await whoami(gateway, { authorization: `Bearer ${rotated.token}` })).statusCode,
        200,
        'the new chat token',
      )
      t.same(
        ((await call(gateway, 'GET', '/api/tokens', session)).json() as { items: NewToken[] }).items.map(i => i.name),
        ['chat'],
        'still one chat token',
      )
      t.equal((await call(gateway, 'POST', '/api/chat/token')).statusCode, 401, 'a session is required')
    })
  })
}

t.test(
  'a token revoked on one instance stops working on another at once (shared MySQL + Redis)',
  { skip: missingService('mysql') || missingService('redis') },
  async t => {
    const a = await createTestGateway({
      plugins: [identity, probe],
      mysqlUrl: testServices.mysqlUrl,
      redisUrl: testServices.redisUrl,
      config: { admin: ADMIN },
    })
    const b = await createTestGateway({ sharedWith: a, plugins: [identity, probe], config: { admin: ADMIN } })
    t.teardown(async () => {
      await b.close()
      await a.close()
    })
    const session = await signUp(a)
    const created = (await call(a, 'POST', '/api/tokens', session, { name: 'ci' })).json() as NewToken
    t.equal((await whoami(b, { 'x-api-key': created.token })).statusCode, 200, 'B knows the token (and caches it)')
    t.equal((await call(a, 'POST', `/api/tokens/${created.id}/regenerate`, session)).statusCode, 200)
    const refusedAfter = await until(
      async () => ((await whoami(b, { 'x-api-key': created.token })).statusCode === 401 ? true : undefined),
      1000,
    )
    t.ok(refusedAfter, 'B refuses the old secret within a second, well before its cache would expire')
  },
)

function call(
  gateway: Gateway,
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  token?: string,
  payload?: Record<string, unknown>,
): Promise<Reply> {
  return gateway.inject({
    method,
    url,
    ...(payload ? { payload } : {}),
    headers: token ? { authorization: `Bearer ${token}` } : {},
  })
}

function whoami(gateway: Gateway, headers: Record<string, string>): Promise<Reply> {
  return gateway.inject({ method: 'GET', url: '/api/probe/whoami', headers })
}

/** Registers a user and answers their access token. */
async function signUp(gateway: Gateway, email = 'ada@example.com', username = 'Ada'): Promise<string> {
  const response = await gateway.inject({
    method: 'POST',
    url: '/api/auth/register',
    payload: { email, username, password: PASSWORD, password_confirm: PASSWORD },
  })
  if (response.statusCode !== 201) throw new Error(`register failed: ${response.body}`)
  return (response.json() as { access_token: string }).access_token
}

function refusedKey(t: Test, response: Reply, label: string): void {
  t.equal(response.statusCode, 401, `${label}: 401`)
  t.match(response.json(), { error: { type: 'invalid_api_key', message: String } }, `${label}: invalid_api_key`)
}

/** Polls `probe` until it answers something, for effects that land asynchronously. */
async function until<T>(probe: () => Promise<T | undefined>, withinMs = 2000): Promise<T | undefined> {
  const deadline = Date.now() + withinMs
  for (;;) {
    const value = await probe()
    if (value !== undefined || Date.now() > deadline) return value
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}
