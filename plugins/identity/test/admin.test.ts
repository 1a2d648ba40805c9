import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import identity from '@parley/identity'
import { createTestGateway, missingService, testServices, type TestGateway } from '@parley/core/testing'

const ADMIN_PASSWORD = 'root-password-for-tests'
/** Every registered user's; a password made of the user's own name is refused. */
const USER_PASSWORD = 'staple-battery-horse'
type Method = 'GET' | 'POST' | 'PUT' | 'DELETE'

const dialects = [
  { name: 'sqlite', skip: false as string | false, mysqlUrl: undefined as string | undefined },
  { name: 'mysql', skip: missingService('mysql'), mysqlUrl: testServices.mysqlUrl },
]

async function boot(t: Test, mysqlUrl: string | undefined, config: Record<string, unknown> = {}): Promise<TestGateway> {
  const gateway = await createTestGateway({
    plugins: [identity],
    mysqlUrl,
    config: { admin: { username: 'admin', password: ADMIN_PASSWORD }, ...config },
  })
  t.teardown(gateway.close)
  return gateway
}

/** Calls a route with `token` as Bearer (or as x-api-key), or anonymously. */
function caller(gateway: TestGateway, token?: string, header: 'bearer' | 'x-api-key' = 'bearer') {
  const headers: Record<string, string> =
    token === undefined ? {} : header === 'bearer' ? { authorization: `Bearer ${token}` } : { 'x-api-key': token }
  return (method: Method, url: string, payload?: unknown) =>
    gateway.inject({
      method,
      url,
      headers,
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    })
}

async function adminLogin(gateway: TestGateway, username = 'admin', password = ADMIN_PASSWORD): Promise<string> {
  const response = await gateway.inject({
    method: 'POST',
    url: '/api/auth/admin/login',
    payload: { username, password },
  })
  if (response.statusCode !== 200) throw new Error(`admin login of ${username} failed: ${response.body}`)
  return response.json().access_token
}

async function register(
  gateway: TestGateway,
  name: string,
): Promise<{ access_token: string; refresh_token: string; user: { id: number } }> {
  const password = USER_PASSWORD
  const response = await gateway.inject({
    method: 'POST',
    url: '/api/auth/register',
    payload: { email: `${name}@example.com`, username: name, password, password_confirm: password },
  })
  if (response.statusCode !== 201) throw new Error(`register ${name} failed: ${response.body}`)
  return response.json()
}

async function login(gateway: TestGateway, name: string) {
  return gateway.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { email: `${name}@example.com`, password: USER_PASSWORD },
  })
}

async function apiToken(gateway: TestGateway, sessionToken: string, name: string): Promise<string> {
  const response = await caller(gateway, sessionToken)('POST', '/api/tokens', { name })
  if (response.statusCode !== 201) throw new Error(`token creation failed: ${response.body}`)
  return response.json().token
}

async function createUser(admin: ReturnType<typeof caller>, fields: Record<string, unknown>) {
  const response = await admin('POST', '/api/admin/users', { password: 'a-good-password', ...fields })
  if (response.statusCode !== 201) throw new Error(`create ${JSON.stringify(fields)} failed: ${response.body}`)
  return response.json() as { id: number; username: string }
}

const ids = (response: { json(): { items: Array<{ id: number }> } }) => response.json().items.map(item => item.id)

for (const { name: dialect, skip, mysqlUrl } of dialects) {
  t.test(
    `${dialect}: every admin route refuses anonymous callers, user sessions and every API token`,
    { skip },
    async t => {
      const gateway = await boot(t, mysqlUrl)
      const rootToken = await adminLogin(gateway)
      const root = caller(gateway, rootToken)
      t.equal((await root('POST', '/api/admin/groups', { name: 'vip' })).statusCode, 201)
      const user = await register(gateway, 'mallory')
      const userApiToken = await apiToken(gateway, user.access_token, 'cli')
      const rootApiToken = await apiToken(gateway, rootToken, 'automation')

      const routes: Array<[Method, string, unknown]> = [
        ['GET', '/api/admin/users', undefined],
        [
          'POST',
          '/api/admin/users',
          { email: 'intruder@example.com', username: 'intruder', password: 'a-good-password', role: 'root' },
        ],
        ['PUT', `/api/admin/users/${user.user.id}`, { role: 'root' }],
        ['GET', '/api/admin/groups', undefined],
        ['POST', '/api/admin/groups', { name: 'intruders' }],
        ['PUT', '/api/admin/groups/default', { rpm: 1 }],
        ['DELETE', '/api/admin/groups/vip', undefined],
      ]
      const callers: Array<[string, ReturnType<typeof caller>, number]> = [
        ['anonymous', caller(gateway), 401],
        ['a user session', caller(gateway, user.access_token), 403],
        ["a user's API token", caller(gateway, userApiToken), 401],
        ["root's API token as Bearer", caller(gateway, rootApiToken), 401],
        ["root's API token as x-api-key", caller(gateway, rootApiToken, 'x-api-key'), 401],
      ]
      for (const [method, url, payload] of routes) {
        for (const [who, call, status] of callers) {
          const response = await call(method, url, payload)
          t.equal(response.statusCode, status, `${who}: ${method} ${url}`)
          t.match(response.json(), { error: { type: status === 401 ? 'unauthorized' : 'forbidden' } })
        }
      }
      // The guard runs before validation: an anonymous caller learns nothing about the schema.
      t.equal((await caller(gateway)('POST', '/api/admin/users', { password_hash: 'x' })).statusCode, 401)
      t.equal(
        (await caller(gateway, user.access_token)('PUT', '/api/admin/users/1', { password_hash: 'x' })).statusCode,
        403,
      )

      const users = await root('GET', '/api/admin/users')
      t.same(
        users.json().items.map((u: { username: string; role: string }) => [u.username, u.role]),
        [
          ['admin', 'root'],
          ['mallory', 'user'],
        ],
        'no user created or promoted',
      )
      const groups = await root('GET', '/api/admin/groups')
      t.same(
        groups.json().items.map((g: { name: string; rpm: number | null }) => [g.name, g.rpm]),
        [
          ['default', null],
          ['vip', null],
        ],
        'no group created, changed or deleted',
      )
    },
  )

  t.test(`${dialect}: users are listed by id, searched, filtered and paged`, { skip }, async t => {
    const gateway = await boot(t, mysqlUrl)
    const admin = caller(gateway, await adminLogin(gateway))
    await admin('POST', '/api/admin/groups', { name: 'vip' })
    await createUser(admin, { email: 'Alice@Example.com', username: 'Alice', group: 'vip' })
    await createUser(admin, { email: 'bob@corp.test', username: 'bob', role: 'admin' })
    await createUser(admin, { email: 'carol@example.com', username: 'Carol_X' })
    const dave = await createUser(admin, { email: 'dave@corp.test', username: 'dave' })
    await createUser(admin, { email: 'lox@corp.test', username: 'lox' })
    t.equal((await admin('PUT', `/api/admin/users/${dave.id}`, { status: 'disabled' })).statusCode, 200)

    const all = await admin('GET', '/api/admin/users')
    t.equal(all.statusCode, 200)
    t.match(all.json(), { total: 6, page: 1, page_size: 20 })
    t.same(ids(all), [1, 2, 3, 4, 5, 6])
    const [first, alice] = all.json().items
    t.same(
      Object.keys(first).sort(),
      ['created_at', 'email', 'group', 'id', 'last_login_at', 'role', 'status', 'username'],
      'no hash, no key, nothing else',
    )
    t.match(first, {
      id: 1,
      username: 'admin',
      role: 'root',
      group: 'default',
      status: 'active',
      created_at: /^\d{4}-\d\d-\d\dT/,
      last_login_at: /^\d{4}-\d\d-\d\dT/,
    })
    t.same(
      { ...alice, created_at: 'x' },
      {
        id: 2,
        email: 'alice@example.com',
        username: 'Alice',
        role: 'user',
        group: 'vip',
        status: 'active',
        created_at: 'x',
        last_login_at: null,
      },
    )

    const search = async (query: string) => ids(await admin('GET', `/api/admin/users?${query}`))
    t.same(await search('q=EXAMPLE'), [2, 4], 'q matches the email, whatever the case')
    t.same(await search('q=aLiCe'), [2], 'q matches the username, whatever the case')
    t.same(await search('q=l_x'), [4], '_ is a literal underscore, not a wildcard (lox does not match)')
    t.same(await search('q=%25'), [], '% is a literal percent sign, not a wildcard')
    t.same(await search('q=%20corp%20'), [3, 5, 6], 'surrounding blanks are ignored')
    t.same(await search('role=admin'), [3])
    t.same(await search('role=root'), [1])
    t.same(await search('group=vip'), [2])
    t.same(await search('status=disabled'), [5])
    t.same(await search('q=corp&role=user&status=active'), [6], 'filters combine')

    const page2 = await admin('GET', '/api/admin/users?page=2&page_size=2')
    t.same({ ...page2.json(), items: ids(page2) }, { items: [3, 4], total: 6, page: 2, page_size: 2 })
    const beyond = await admin('GET', '/api/admin/users?page=4&page_size=2')
    t.same(beyond.json(), { items: [], total: 6, page: 4, page_size: 2 })
    const filteredPage = await admin('GET', '/api/admin/users?q=corp&page=2&page_size=2')
    t.same(
      { ...filteredPage.json(), items: ids(filteredPage) },
      { items: [6], total: 3, page: 2, page_size: 2 },
      'total counts the filtered set',
    )

    for (const bad of [
      'page_size=101',
      'page_size=0',
      'page=0',
      'role=superuser',
      'status=gone',
      'sort=email',
      'page=two',
    ]) {
      const response = await admin('GET', `/api/admin/users?${bad}`)
      t.equal(response.statusCode, 400, bad)
      t.match(response.json(), { error: { type: 'invalid_request', location: 'querystring' } })
    }
    t.equal((await admin('GET', '/api/admin/users?page_size=100')).statusCode, 200, '100 is the largest page')
  })

  t.test(`${dialect}: creating a user validates like registration`, { skip }, async t => {
    const gateway = await boot(t, mysqlUrl)
    const admin = caller(gateway, await adminLogin(gateway))
    await admin('POST', '/api/admin/groups', { name: 'vip' })

    const created = await admin('POST', '/api/admin/users', {
      email: ' New@Example.com ',
      username: ' newbie ',
      password: 'fresh-start-horse',
      group: 'vip',
    })
    t.equal(created.statusCode, 201)
    t.match(created.json(), {
      id: 2,
      email: 'new@example.com',
      username: 'newbie',
      role: 'user',
      group: 'vip',
      status: 'active',
      last_login_at: null,
    })
    t.notOk('password_hash' in created.json())
    const signIn = await gateway.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: 'new@example.com', password: 'fresh-start-horse' },
    })
    t.equal(signIn.statusCode, 200, 'the new user can sign in')
    t.match(signIn.json().user, { id: 2, group: 'vip', role: 'user' })
    t.match(
      await createUser(admin, { email: 'plain@example.com', username: 'plain' }),
      { group: 'default', role: 'user' },
      'group defaults to the default group',
    )

    const valid = { email: 'other@example.com', username: 'other', password: 'staple-battery-9' }
    const cases: Array<[string, Record<string, unknown>, number, string]> = [
      ['bad email', { ...valid, email: 'not-an-email' }, 400, 'invalid_email'],
      ['short username', { ...valid, username: 'x' }, 400, 'invalid_username'],
      ['control character in username', { ...valid, username: 'bad\u0007name' }, 400, 'invalid_username'],
      ['weak password', { ...valid, password: 'short' }, 400, 'weak_password'],
      ['blank password', { ...valid, password: '          ' }, 400, 'weak_password'],
      ['email taken (any case)', { ...valid, email: 'NEW@example.com' }, 409, 'email_taken'],
      ['username taken (any case)', { ...valid, username: 'NewBie' }, 409, 'username_taken'],
      ['unknown group', { ...valid, group: 'nope' }, 404, 'group_not_found'],
      ['unknown role', { ...valid, role: 'superuser' }, 400, 'invalid_request'],
      ['status is not settable', { ...valid, status: 'disabled' }, 400, 'invalid_request'],
      ['no mass assignment of the hash', { ...valid, password_hash: '$argon2id$forged' }, 400, 'invalid_request'],
      ['missing password', { email: valid.email, username: valid.username }, 400, 'invalid_request'],
    ]
    for (const [what, body, status, type] of cases) {
      const response = await admin('POST', '/api/admin/users', body)
      t.equal(response.statusCode, status, what)
      t.equal(response.json().error?.type, type, what)
    }
    t.match((await admin('POST', '/api/admin/users', { ...valid, group: 'nope' })).json(), {
      error: { code: 'PARLEY_ERR_IDENTITY_GROUP_NOT_FOUND', message: /nope/ },
    })
    t.equal((await admin('GET', '/api/admin/users')).json().total, 3, 'no failed attempt created anyone')

    t.match(await createUser(admin, { email: 'ops@example.com', username: 'ops', role: 'admin' }), { role: 'admin' })
    t.match(
      await createUser(admin, { email: 'boss@example.com', username: 'boss', role: 'root' }),
      { role: 'root' },
      'root may create a root',
    )
  })

  t.test(`${dialect}: role, group and status changes; role and status end the user's sessions`, { skip }, async t => {
    const gateway = await boot(t, mysqlUrl)
    const admin = caller(gateway, await adminLogin(gateway))
    await admin('POST', '/api/admin/groups', { name: 'vip' })
    const session = await register(gateway, 'erin')
    const id = session.user.id
    const erin = caller(gateway, session.access_token)
    const refresh = (token: string) =>
      gateway.inject({ method: 'POST', url: '/api/auth/refresh', payload: { refresh_token: token } })
    t.equal((await erin('GET', '/api/users/me')).statusCode, 200, 'warms the principal cache')

    // A group change takes effect at once but keeps the sessions.
    const grouped = await admin('PUT', `/api/admin/users/${id}`, { group: 'vip' })
    t.equal(grouped.statusCode, 200)
    t.match(grouped.json(), { id, group: 'vip', role: 'user', status: 'active' })
    t.match((await erin('GET', '/api/users/me')).json(), { group: 'vip' }, 'no stale cached group')
    const rotated = await refresh(session.refresh_token)
    t.equal(rotated.statusCode, 200, 'refresh tokens survive a group change')

    // A role change revokes every refresh token; the access token now carries the new role.
    const promoted = await admin('PUT', `/api/admin/users/${id}`, { role: 'admin' })
    t.match(promoted.json(), { id, role: 'admin', group: 'vip' })
    t.match((await refresh(rotated.json().refresh_token)).json(), { error: { type: 'invalid_refresh_token' } })
    t.equal(
      (await erin('GET', '/api/admin/users')).statusCode,
      200,
      'the cached role was dropped: the new admin is let in at once',
    )
    t.equal(
      (await caller(gateway, rotated.json().access_token)('GET', '/api/users/me')).statusCode,
      200,
      'a role change does not kill access tokens',
    )

    const demoted = await admin('PUT', `/api/admin/users/${id}`, { role: 'user' })
    t.match(demoted.json(), { role: 'user' })
    t.equal((await erin('GET', '/api/admin/users')).statusCode, 403, 'and is shut out at once when demoted')

    // Disabling: every session, access token and API token stops at once on this instance.
    const fresh = (await login(gateway, 'erin')).json()
    const erinApiToken = await apiToken(gateway, fresh.access_token, 'cli')
    t.equal(
      (await caller(gateway, erinApiToken)('GET', '/api/admin/users')).statusCode,
      401,
      'API tokens never reach admin routes',
    )
    t.equal((await erin('GET', '/api/users/me')).statusCode, 200)
    const disabled = await admin('PUT', `/api/admin/users/${id}`, { status: 'disabled' })
    t.match(disabled.json(), { id, status: 'disabled' })
    t.match(
      (await erin('GET', '/api/users/me')).json(),
      { error: { type: 'invalid_token' } },
      'the cached user was dropped: the JWT is refused at once',
    )
    t.equal((await caller(gateway, erinApiToken)('POST', '/api/tokens', { name: 'x' })).statusCode, 401)
    t.match((await refresh(fresh.refresh_token)).json(), { error: { type: 'invalid_refresh_token' } })
    t.match((await login(gateway, 'erin')).json(), { error: { type: 'account_disabled' } })
    t.same(ids(await admin('GET', '/api/admin/users?status=disabled')), [id])

    const enabled = await admin('PUT', `/api/admin/users/${id}`, { status: 'active' })
    t.match(enabled.json(), { status: 'active' })
    t.equal((await login(gateway, 'erin')).statusCode, 200, 'a re-enabled user signs in again')

    const current = (await admin('GET', `/api/admin/users?q=erin`)).json().items[0]
    t.same((await admin('PUT', `/api/admin/users/${id}`, {})).json(), current, 'an empty change changes nothing')
    t.match((await admin('PUT', '/api/admin/users/999', { status: 'disabled' })).json(), {
      error: { type: 'not_found', code: 'PARLEY_ERR_IDENTITY_USER_NOT_FOUND' },
    })
    t.equal((await admin('PUT', '/api/admin/users/abc', { status: 'disabled' })).statusCode, 400)
    t.match((await admin('PUT', `/api/admin/users/${id}`, { group: 'nope' })).json(), {
      error: { type: 'group_not_found' },
    })
    t.equal((await admin('PUT', `/api/admin/users/${id}`, { status: 'banned' })).statusCode, 400)
  })

  t.test(`${dialect}: an admin can neither grant root nor change a root account`, { skip }, async t => {
    const gateway = await boot(t, mysqlUrl)
    const root = caller(gateway, await adminLogin(gateway))
    await root('POST', '/api/admin/groups', { name: 'vip' })
    await createUser(root, { email: 'ops@example.com', username: 'ops', role: 'admin' })
    const other = await createUser(root, { email: 'user@example.com', username: 'someone' })
    const admin = caller(gateway, await adminLogin(gateway, 'ops', 'a-good-password'))

    const refused: Array<[Method, string, Record<string, unknown>]> = [
      [
        'POST',
        '/api/admin/users',
        { email: 'evil@example.com', username: 'evil', password: 'a-good-password', role: 'root' },
      ],
      ['PUT', `/api/admin/users/${other.id}`, { role: 'root' }],
      ['PUT', '/api/admin/users/1', { status: 'disabled' }],
      ['PUT', '/api/admin/users/1', { role: 'user' }],
      ['PUT', '/api/admin/users/1', { group: 'vip' }],
    ]
    for (const [method, url, body] of refused) {
      const response = await admin(method, url, body)
      t.equal(response.statusCode, 403, `${method} ${url} ${JSON.stringify(body)}`)
      t.match(response.json(), { error: { type: 'forbidden', code: 'PARLEY_ERR_IDENTITY_ROOT_ONLY' } })
    }
    const users = (await root('GET', '/api/admin/users')).json().items
    t.same(
      users.map((u: { username: string; role: string; status: string; group: string }) => [
        u.username,
        u.role,
        u.status,
        u.group,
      ]),
      [
        ['admin', 'root', 'active', 'default'],
        ['ops', 'admin', 'active', 'default'],
        ['someone', 'user', 'active', 'default'],
      ],
    )

    // Everything short of root is an admin's to change.
    t.match((await admin('PUT', `/api/admin/users/${other.id}`, { role: 'admin', group: 'vip' })).json(), {
      role: 'admin',
      group: 'vip',
    })
    t.match((await admin('PUT', `/api/admin/users/${other.id}`, { role: 'user', status: 'disabled' })).json(), {
      role: 'user',
      status: 'disabled',
    })
    t.match(await createUser(admin, { email: 'new@example.com', username: 'newbie' }), { role: 'user' })
    t.match(
      (await root('PUT', `/api/admin/users/${other.id}`, { role: 'root', status: 'active' })).json(),
      { role: 'root' },
      'root may grant root',
    )
  })

  t.test(`${dialect}: the last active root can be neither demoted nor disabled`, { skip }, async t => {
    const gateway = await boot(t, mysqlUrl)
    const first = caller(gateway, await adminLogin(gateway))
    for (const change of [{ role: 'admin' }, { role: 'user' }, { status: 'disabled' }]) {
      const response = await first('PUT', '/api/admin/users/1', change)
      t.equal(response.statusCode, 409, JSON.stringify(change))
      t.match(response.json(), { error: { type: 'last_root', code: 'PARLEY_ERR_IDENTITY_LAST_ROOT' } })
    }
    t.match(
      (await first('PUT', '/api/admin/users/1', { role: 'root', status: 'active' })).json(),
      { role: 'root' },
      'a change that keeps root is fine',
    )

    const second = await createUser(first, { email: 'second@example.com', username: 'second', role: 'root' })
    const third = await createUser(first, { email: 'third@example.com', username: 'third', role: 'root' })
    t.match(
      (await first('PUT', `/api/admin/users/${third.id}`, { status: 'disabled' })).json(),
      { status: 'disabled' },
      'two active roots remain',
    )
    const secondRoot = caller(gateway, await adminLogin(gateway, 'second', 'a-good-password'))
    t.match(
      (await secondRoot('PUT', '/api/admin/users/1', { role: 'admin' })).json(),
      { role: 'admin' },
      'with another active root, one may step down',
    )
    const response = await secondRoot('PUT', `/api/admin/users/${second.id}`, { role: 'user' })
    t.match(response.json(), { error: { type: 'last_root' } }, 'a disabled root does not count')
    t.equal((await secondRoot('PUT', `/api/admin/users/${second.id}`, { status: 'disabled' })).statusCode, 409)
    t.same(ids(await secondRoot('GET', '/api/admin/users?role=root&status=active')), [second.id])
  })

  t.test(`${dialect}: PUT accepts role, group and status only (no mass assignment)`, { skip }, async t => {
    const gateway = await boot(t, mysqlUrl)
    const admin = caller(gateway, await adminLogin(gateway))
    const victim = await register(gateway, 'victor')
    const before = (await admin('GET', '/api/admin/users?q=victor')).json().items[0]
    const attempts: Array<Record<string, unknown>> = [
      { password_hash: '$argon2id$v=19$m=19456,t=2,p=1$forged' },
      { passwordHash: 'forged' },
      { email: 'attacker@example.com' },
      { username: 'attacker' },
      { role: 'admin', email: 'attacker@example.com' },
      { status: 'disabled', password: 'attacker-password' },
      { id: 1 },
      { last_login_at: null },
    ]
    for (const body of attempts) {
      const response = await admin('PUT', `/api/admin/users/${victim.user.id}`, body)
      t.equal(response.statusCode, 400, JSON.stringify(body))
      t.match(response.json(), {
        error: { type: 'invalid_request', location: 'body', message: /is not a known field/ },
      })
    }
    t.same(
      (await admin('GET', '/api/admin/users?q=victor')).json().items[0],
      before,
      'nothing changed, not even the allowed fields sent alongside',
    )
    t.equal((await login(gateway, 'victor')).statusCode, 200, 'the password still works')
    t.equal(
      (
        await gateway.inject({
          method: 'POST',
          url: '/api/auth/refresh',
          payload: { refresh_token: victim.refresh_token },
        })
      ).statusCode,
      200,
      'sessions untouched',
    )
  })

  t.test(`${dialect}: groups are created, listed, changed and deleted when empty`, { skip }, async t => {
    const gateway = await boot(t, mysqlUrl)
    const admin = caller(gateway, await adminLogin(gateway))

    const initial = await admin('GET', '/api/admin/groups')
    t.same(initial.json(), {
      items: [
        {
          name: 'default',
          description: 'Everyone starts here',
          rpm: null,
          models: null,
          model_config_limit: 0,
          members: 1,
        },
      ],
      total: 1,
      page: 1,
      page_size: 20,
    })

    const created = await admin('POST', '/api/admin/groups', {
      name: 'vip',
      description: 'Paying customers',
      rpm: 120,
      models: ['gpt-4o', 'claude-sonnet'],
      model_config_limit: 3,
    })
    t.equal(created.statusCode, 201)
    t.same(created.json(), {
      name: 'vip',
      description: 'Paying customers',
      rpm: 120,
      models: ['gpt-4o', 'claude-sonnet'],
      model_config_limit: 3,
      members: 0,
    })
    t.same((await admin('POST', '/api/admin/groups', { name: 'free-tier_2' })).json(), {
      name: 'free-tier_2',
      description: '',
      rpm: null,
      models: null,
      model_config_limit: 0,
      members: 0,
    })
    t.same(
      (await admin('POST', '/api/admin/groups', { name: 'nothing', models: [] })).json().models,
      [],
      'an empty list (no model at all) differs from null (every model)',
    )

    const duplicate = await admin('POST', '/api/admin/groups', { name: 'vip' })
    t.equal(duplicate.statusCode, 409)
    t.match(duplicate.json(), {
      error: { type: 'group_exists', code: 'PARLEY_ERR_IDENTITY_GROUP_EXISTS', message: /vip/ },
    })
    const invalid: Array<[string, Record<string, unknown>]> = [
      ['upper case', { name: 'VIP' }],
      ['space', { name: 'has space' }],
      ['empty', { name: '' }],
      ['65 characters', { name: 'a'.repeat(65) }],
      ['dot', { name: 'a.b' }],
      ['zero rpm', { name: 'ok', rpm: 0 }],
      ['fractional rpm', { name: 'ok', rpm: 1.5 }],
      ['duplicate models', { name: 'ok', models: ['a', 'a'] }],
      ['empty model name', { name: 'ok', models: [''] }],
      ['models not a list', { name: 'ok', models: 'gpt-4o' }],
      ['negative config limit', { name: 'ok', model_config_limit: -1 }],
      ['description too long', { name: 'ok', description: 'x'.repeat(256) }],
      ['unknown field', { name: 'ok', members: 5 }],
    ]
    for (const [what, body] of invalid) {
      const response = await admin('POST', '/api/admin/groups', body)
      t.equal(response.statusCode, 400, what)
      t.match(response.json(), { error: { type: 'invalid_request' } }, what)
    }
    t.equal(
      (await admin('POST', '/api/admin/groups', { name: 'a'.repeat(64) })).statusCode,
      201,
      '64 characters is the longest name',
    )

    const changed = await admin('PUT', '/api/admin/groups/vip', { rpm: null, models: null, description: 'Changed' })
    t.same(
      changed.json(),
      { name: 'vip', description: 'Changed', rpm: null, models: null, model_config_limit: 3, members: 0 },
      'unsent fields are kept',
    )
    t.match((await admin('PUT', '/api/admin/groups/vip', { models: ['o3'], model_config_limit: 0 })).json(), {
      models: ['o3'],
      model_config_limit: 0,
      description: 'Changed',
    })
    t.equal(
      (await admin('PUT', '/api/admin/groups/vip', { name: 'renamed' })).statusCode,
      400,
      'the name is not a field to change',
    )
    t.match((await admin('PUT', '/api/admin/groups/missing', { rpm: 5 })).json(), {
      error: { type: 'group_not_found', message: /missing/ },
    })

    const member = await register(gateway, 'grace')
    t.equal((await admin('PUT', `/api/admin/users/${member.user.id}`, { group: 'vip' })).statusCode, 200)
    const paged = await admin('GET', '/api/admin/groups?page=1&page_size=2')
    t.same(
      paged.json().items.map((g: { name: string }) => g.name),
      ['a'.repeat(64), 'default'],
      'ordered by name',
    )
    t.match(paged.json(), { total: 5, page: 1, page_size: 2 })
    const listed = (await admin('GET', '/api/admin/groups')).json().items
    t.same(
      listed.map((g: { name: string; members: number }) => [g.name, g.members]),
      [
        ['a'.repeat(64), 0],
        ['default', 1],
        ['free-tier_2', 0],
        ['nothing', 0],
        ['vip', 1],
      ],
    )
    t.equal((await admin('GET', '/api/admin/groups?page_size=101')).statusCode, 400)

    const inUse = await admin('DELETE', '/api/admin/groups/vip')
    t.equal(inUse.statusCode, 409)
    t.match(inUse.json(), {
      error: { type: 'group_in_use', code: 'PARLEY_ERR_IDENTITY_GROUP_IN_USE', message: /vip still has 1 member/ },
    })
    for (const name of ['default', 'DEFAULT']) {
      const response = await admin('DELETE', `/api/admin/groups/${name}`)
      t.ok(response.statusCode === 409 || response.statusCode === 404, `${name}: refused`)
    }
    t.match((await admin('DELETE', '/api/admin/groups/default')).json(), {
      error: { type: 'group_protected', code: 'PARLEY_ERR_IDENTITY_GROUP_PROTECTED' },
    })

    await admin('PUT', `/api/admin/users/${member.user.id}`, { group: 'default' })
    const deleted = await admin('DELETE', '/api/admin/groups/vip')
    t.equal(deleted.statusCode, 204)
    t.equal(deleted.body, '')
    t.match((await admin('DELETE', '/api/admin/groups/vip')).json(), { error: { type: 'group_not_found' } })
    t.same(
      (await admin('GET', '/api/admin/groups')).json().items.map((g: { name: string }) => g.name),
      ['a'.repeat(64), 'default', 'free-tier_2', 'nothing'],
    )
    t.match(
      (await admin('PUT', `/api/admin/users/${member.user.id}`, { group: 'vip' })).json(),
      { error: { type: 'group_not_found' } },
      'a deleted group cannot be assigned',
    )
  })

  t.test(`${dialect}: the group named by the default_group setting cannot be deleted either`, { skip }, async t => {
    const gateway = await boot(t, mysqlUrl, { settings: { default_group: 'newcomers' } })
    const admin = caller(gateway, await adminLogin(gateway))
    t.equal((await admin('POST', '/api/admin/groups', { name: 'newcomers' })).statusCode, 201)
    t.match((await admin('DELETE', '/api/admin/groups/newcomers')).json(), {
      error: { type: 'group_protected', message: /newcomers/ },
    })
    t.match(
      await createUser(admin, { email: 'new@example.com', username: 'newbie' }),
      { group: 'newcomers' },
      'admin-created users land there too',
    )
  })

  t.test(
    `${dialect}: disabling a user reaches every instance at once through Redis`,
    { skip: skip || missingService('redis') },
    async t => {
      // Two gateways on one database and one Redis prefix, as behind a load balancer.
      const config = { admin: { username: 'admin', password: ADMIN_PASSWORD } }
      const one = await createTestGateway({ plugins: [identity], mysqlUrl, redisUrl: testServices.redisUrl, config })
      const two = await createTestGateway({ plugins: [identity], sharedWith: one, config })
      t.teardown(async () => {
        await two.close()
        await one.close()
      })

      const session = await register(one, 'ivan')
      t.equal(
        (await caller(two, session.access_token)('GET', '/api/users/me')).statusCode,
        200,
        'instance two caches ivan as active',
      )
      const admin = caller(one, await adminLogin(one))
      t.equal((await admin('PUT', `/api/admin/users/${session.user.id}`, { status: 'disabled' })).statusCode, 200)
      // Well inside the 10 s cache lifetime: only the invalidation message can explain a refusal.
      const deadline = Date.now() + 3000
      let status = 200
      while (
        Date.now() < deadline &&
        (status = (await caller(two, session.access_token)('GET', '/api/users/me')).statusCode) === 200
      )
        await sleep(25)
      t.equal(status, 401, 'instance two refuses the JWT long before its cache would expire')
    },
  )
}
