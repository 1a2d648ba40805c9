import t, { type Test } from 'tap'
import { decodeJwt } from 'jose'
import identity from '@parley/identity'
import {
  createTestGateway,
  missingService,
  pendingSchemaChanges,
  testServices,
  type TestGateway,
} from '@parley/core/testing'

// Register, login, refresh, logout, the user's own account and admin login (docs/identity.md),
// black-box through inject() on a fresh gateway per test, on every dialect.

const dialects = [
  { name: 'sqlite', skip: false as string | false, mysqlUrl: undefined as string | undefined },
  { name: 'mysql', skip: missingService('mysql'), mysqlUrl: testServices.mysqlUrl },
]

const PASSWORD = 'correct-horse-battery'
/** The bootstrap admin; configured so start-up does not print a generated password. */
const ADMIN = { username: 'admin', password: 'admin-password-0' }

interface PublicUser {
  id: number
  email: string
  username: string
  role: string
  group: string
}
interface Pair {
  access_token: string
  refresh_token: string
  token_type: string
  expires_in: number
  user: PublicUser
}
interface Reply {
  statusCode: number
  body: string
  json(): unknown
}

type Options = Record<string, unknown>

for (const dialect of dialects) {
  const boot = async (t: Test, options: Options = {}): Promise<TestGateway> => {
    const gateway = await createTestGateway({
      plugins: [{ plugin: identity, options }],
      mysqlUrl: dialect.mysqlUrl,
      config: { admin: ADMIN },
    })
    t.teardown(gateway.close)
    return gateway
  }

  t.test(`${dialect.name}: migrations match the entities`, { skip: dialect.skip }, async t => {
    const gateway = await boot(t)
    t.same(await pendingSchemaChanges(gateway), [], 'nothing left to diff')
  })

  t.test(`${dialect.name}: register`, { skip: dialect.skip }, async t => {
    t.test('answers 201 with the token pair of Appendix A and signs the user in', async t => {
      const gateway = await boot(t)
      const response = await register(gateway, { email: '  Ada@Example.COM ', username: 'Ada' })
      t.equal(response.statusCode, 201)
      const pair = response.json() as Pair
      t.same(Object.keys(pair).sort(), ['access_token', 'expires_in', 'refresh_token', 'token_type', 'user'])
      t.same(
        Object.keys(pair.user).sort(),
        ['email', 'group', 'id', 'role', 'username'],
        'the user carries no hash or other field',
      )
      t.match(pair, { access_token: String, refresh_token: String, token_type: 'bearer', expires_in: 900 })
      t.match(
        pair.user,
        { id: Number, email: 'ada@example.com', username: 'Ada', role: 'user', group: 'default' },
        'email is stored normalised',
      )

      const me = await get(gateway, '/api/users/me', pair.access_token)
      t.equal(me.statusCode, 200, 'the access token works at once')
      t.same(me.json(), pair.user)
      t.equal((await refresh(gateway, pair.refresh_token)).statusCode, 200, 'the refresh token works at once')
      t.equal(
        (await login(gateway, 'ADA@example.com')).statusCode,
        200,
        'signing in with another spelling of the email works',
      )
    })

    t.test('refuses each bad input with its own type and message, and creates nothing', async t => {
      const gateway = await boot(t)
      t.equal((await register(gateway)).statusCode, 201)
      const cases: Array<[string, Options, number, string]> = [
        ['email taken (other case)', { email: 'ADA@example.com', username: 'other' }, 409, 'email_taken'],
        ['bad email', { email: 'not-an-email', username: 'other' }, 400, 'invalid_email'],
        ['email with spaces inside', { email: 'a b@example.com', username: 'other' }, 400, 'invalid_email'],
        [
          'passwords differ',
          { email: 'bob@example.com', username: 'bob', password_confirm: `${PASSWORD}!` },
          400,
          'password_mismatch',
        ],
        [
          'weak password',
          { email: 'bob@example.com', username: 'bob', password: 'short', password_confirm: 'short' },
          400,
          'weak_password',
        ],
        [
          'over-long password',
          { email: 'bob@example.com', username: 'bob', password: 'x'.repeat(300), password_confirm: 'x'.repeat(300) },
          400,
          'weak_password',
        ],
        [
          'blank password',
          { email: 'bob@example.com', username: 'bob', password: ' '.repeat(12), password_confirm: ' '.repeat(12) },
          400,
          'weak_password',
        ],
        ['username taken (other case)', { email: 'bob@example.com', username: 'ADA' }, 409, 'username_taken'],
        ['username too short', { email: 'bob@example.com', username: 'b' }, 400, 'invalid_username'],
      ]
      const messages = new Map<string, string>()
      for (const [label, fields, status, type] of cases) {
        const body = refused(t, await register(gateway, fields), status, type, label)
        messages.set(type, body.message)
      }
      t.equal(new Set(messages.values()).size, messages.size, 'every cause has its own message')
      t.match(
        (await login(gateway, 'bob@example.com')).json(),
        { error: { type: 'invalid_credentials' } },
        'no refused registration created an account',
      )
    })

    t.test(
      'concurrent registrations of one email or username: one account, the others 409 with the right type',
      async t => {
        const gateway = await boot(t)
        const sameEmail = await Promise.all([1, 2, 3].map(i => register(gateway, { username: `ada${i}` })))
        t.same(sameEmail.map(r => r.statusCode).sort(), [201, 409, 409], 'same email')
        for (const answer of sameEmail.filter(r => r.statusCode === 409))
          t.match(answer.json(), { error: { type: 'email_taken' } })
        const sameName = await Promise.all(
          [1, 2, 3].map(i => register(gateway, { email: `bob${i}@example.com`, username: 'Bob' })),
        )
        t.same(sameName.map(r => r.statusCode).sort(), [201, 409, 409], 'same username')
        for (const answer of sameName.filter(r => r.statusCode === 409))
          t.match(answer.json(), { error: { type: 'username_taken' } })
      },
    )

    t.test('is refused when registration is closed', async t => {
      const gateway = await boot(t)
      await gateway.settings.set('allow_registration', false)
      refused(t, await register(gateway), 403, 'registration_closed')
      t.match((await login(gateway)).json(), { error: { type: 'invalid_credentials' } }, 'nothing was created')
      await gateway.settings.set('allow_registration', true)
      t.equal((await register(gateway)).statusCode, 201, 'opening it again works')
    })
  })

  t.test(`${dialect.name}: first_user_becomes_root`, { skip: dialect.skip }, async t => {
    t.test('is off by default: the first registered user is a plain user', async t => {
      const gateway = await boot(t)
      t.equal(gateway.settings.get('identity.first_user_becomes_root'), false)
      t.equal(((await register(gateway)).json() as Pair).user.role, 'user')
    })

    // With the setting on and no ADMIN_PASSWORD, the bootstrap creates no admin: the first
    // account to register while no root or admin exists becomes root.
    t.test('when on, the first registered user is root and the next one is not', async t => {
      const gateway = await createTestGateway({
        plugins: [{ plugin: identity, options: { first_user_becomes_root: true } }],
        mysqlUrl: dialect.mysqlUrl,
      })
      t.teardown(gateway.close)
      t.equal(gateway.settings.get('identity.first_user_becomes_root'), true)
      const first = (await register(gateway)).json() as Pair
      t.equal(first.user.role, 'root', 'first registration')
      t.equal(
        ((await register(gateway, { email: 'bob@example.com', username: 'bob' })).json() as Pair).user.role,
        'user',
        'second registration',
      )
      t.match((await get(gateway, '/api/users/me', first.access_token)).json(), { role: 'root' })
    })
  })

  t.test(`${dialect.name}: login`, { skip: dialect.skip }, async t => {
    t.test('answers the same pair shape for the registered user', async t => {
      const gateway = await boot(t)
      const registered = (await register(gateway)).json() as Pair
      const response = await login(gateway)
      t.equal(response.statusCode, 200)
      const pair = response.json() as Pair
      t.match(pair, { token_type: 'bearer', expires_in: 900, user: registered.user })
      t.not(pair.refresh_token, registered.refresh_token, 'a new session')
      t.equal((await get(gateway, '/api/users/me', pair.access_token)).statusCode, 200)
    })

    t.test('by default an unknown email and a wrong password answer the same', async t => {
      const gateway = await boot(t)
      await register(gateway)
      t.equal(gateway.settings.get('identity.distinct_login_errors'), false)
      const unknown = refused(t, await login(gateway, 'nobody@example.com'), 401, 'invalid_credentials')
      const wrong = refused(t, await login(gateway, 'ada@example.com', 'wrong-password'), 401, 'invalid_credentials')
      t.same(unknown, wrong, 'nothing tells the two apart')
      const zh = await gateway.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: { 'accept-language': 'zh-CN' },
        payload: { email: 'nobody@example.com', password: 'whatever-123' },
      })
      t.same(
        zh.json(),
        {
          error: {
            type: 'invalid_credentials',
            message: '邮箱或密码错误',
            code: 'PARLEY_ERR_IDENTITY_BAD_CREDENTIALS',
          },
        },
        'in Chinese too',
      )
      t.equal((await login(gateway)).statusCode, 200, 'the right password still works')
      refused(t, await login(gateway, 'not an email'), 400, 'invalid_email')
    })

    t.test('with distinct_login_errors it says whether the email or the password was wrong', async t => {
      const gateway = await boot(t)
      await register(gateway)
      await gateway.settings.set('identity.distinct_login_errors', true)
      const unknown = refused(t, await login(gateway, 'nobody@example.com'), 401, 'email_not_found')
      const wrong = refused(t, await login(gateway, 'ada@example.com', 'wrong-password'), 401, 'wrong_password')
      t.not(unknown.message, wrong.message)
    })

    t.test('refuses a disabled user, and their refresh token too', async t => {
      const gateway = await boot(t)
      const pair = (await register(gateway)).json() as Pair
      await gateway.db.em().nativeUpdate('IdentityUser', { id: pair.user.id }, { status: 'disabled' })
      refused(t, await login(gateway), 403, 'account_disabled')
      refused(t, await refresh(gateway, pair.refresh_token), 401, 'invalid_refresh_token')
    })

    t.test('an unknown email costs about as long as a wrong password', async t => {
      // Smoke test, not a benchmark: without the dummy hash an unknown email answers in about
      // a millisecond against tens for a verification, a ratio far outside these bounds.
      const gateway = await boot(t, {
        login_max_failures_per_account_and_ip: 1000,
        login_max_failures_per_account: 1000,
        login_max_failures_per_ip: 100_000,
      })
      await register(gateway)
      const time = async (email: string) => {
        const started = performance.now()
        const response = await login(gateway, email, 'wrong-password')
        t.equal(response.statusCode, 401)
        return performance.now() - started
      }
      await time('nobody@example.com') // warm up: the dummy hash is made on first use
      await time('ada@example.com')
      const unknown: number[] = []
      const wrong: number[] = []
      for (let i = 0; i < 7; i++) {
        unknown.push(await time(`nobody${i}@example.com`))
        wrong.push(await time('ada@example.com'))
      }
      const ratio = median(unknown) / median(wrong)
      t.ok(
        ratio > 0.5 && ratio < 2,
        `median unknown ${median(unknown).toFixed(1)} ms / wrong ${median(wrong).toFixed(1)} ms = ${ratio.toFixed(2)}`,
      )
    })
  })

  t.test(`${dialect.name}: refresh and logout`, { skip: dialect.skip }, async t => {
    t.test('rotation returns a new pair and revokes the old refresh token', async t => {
      const gateway = await boot(t)
      const first = (await register(gateway)).json() as Pair
      const response = await refresh(gateway, first.refresh_token)
      t.equal(response.statusCode, 200)
      const second = response.json() as Pair
      t.match(second, { token_type: 'bearer', expires_in: 900, user: first.user })
      t.not(second.refresh_token, first.refresh_token)
      t.equal((await get(gateway, '/api/users/me', second.access_token)).statusCode, 200)
      refused(t, await refresh(gateway, first.refresh_token), 401, 'invalid_refresh_token')
    })

    t.test('reusing a revoked token revokes its whole family, and only that family', async t => {
      const gateway = await boot(t)
      const first = (await register(gateway)).json() as Pair
      const other = (await login(gateway)).json() as Pair // a second sign-in: another family
      const second = (await refresh(gateway, first.refresh_token)).json() as Pair
      const third = (await refresh(gateway, second.refresh_token)).json() as Pair
      refused(t, await refresh(gateway, first.refresh_token), 401, 'invalid_refresh_token', 'reuse of the first token')
      refused(
        t,
        await refresh(gateway, third.refresh_token),
        401,
        'invalid_refresh_token',
        'the newest token of the family is revoked too',
      )
      t.equal((await refresh(gateway, other.refresh_token)).statusCode, 200, 'the other sign-in is untouched')
    })

    t.test('two concurrent refreshes of one token: at most one succeeds', async t => {
      const gateway = await boot(t)
      const pair = (await register(gateway)).json() as Pair
      const answers = await Promise.all([refresh(gateway, pair.refresh_token), refresh(gateway, pair.refresh_token)])
      const statuses = answers.map(a => a.statusCode).sort()
      t.ok(statuses.filter(s => s === 200).length <= 1, `statuses ${statuses.join(', ')}`)
      t.ok(
        statuses.every(s => s === 200 || s === 401),
        'the loser is a clean 401',
      )
      refused(t, await refresh(gateway, pair.refresh_token), 401, 'invalid_refresh_token', 'the raced token is spent')
    })

    t.test('logout revokes the refresh token; unknown tokens change nothing', async t => {
      const gateway = await boot(t)
      const pair = (await register(gateway)).json() as Pair
      const other = (await login(gateway)).json() as Pair
      const response = await post(gateway, '/api/auth/logout', { refresh_token: pair.refresh_token })
      t.equal(response.statusCode, 204)
      t.equal(response.body, '')
      refused(t, await refresh(gateway, pair.refresh_token), 401, 'invalid_refresh_token')
      t.equal((await post(gateway, '/api/auth/logout', { refresh_token: 'no-such-token' })).statusCode, 204)
      t.equal((await refresh(gateway, other.refresh_token)).statusCode, 200, 'another session survives')
    })

    t.test('a refresh token is not an access token, and an access token is not a refresh token', async t => {
      const gateway = await boot(t)
      const pair = (await register(gateway)).json() as Pair
      refused(t, await get(gateway, '/api/users/me', pair.refresh_token), 401, 'invalid_token')
      refused(t, await refresh(gateway, pair.access_token.slice(0, 200)), 401, 'invalid_refresh_token')
      refused(t, await post(gateway, '/api/auth/refresh', { refresh_token: '' }), 400, 'invalid_request')
    })
  })

  t.test(`${dialect.name}: the user's own account`, { skip: dialect.skip }, async t => {
    t.test('GET /api/users/me answers the public user and needs a session', async t => {
      const gateway = await boot(t)
      const pair = (await register(gateway)).json() as Pair
      const response = await get(gateway, '/api/users/me', pair.access_token)
      t.equal(response.statusCode, 200)
      t.same(response.json(), {
        id: pair.user.id,
        email: 'ada@example.com',
        username: 'Ada',
        role: 'user',
        group: 'default',
      })
      refused(t, await get(gateway, '/api/users/me'), 401, 'unauthorized')
      refused(t, await get(gateway, '/api/users/me', 'garbage'), 401, 'invalid_token')
    })

    t.test('username change, with its errors', async t => {
      const gateway = await boot(t)
      const pair = (await register(gateway)).json() as Pair
      await register(gateway, { email: 'bob@example.com', username: 'Bob' })
      const url = '/api/users/me/username'
      const changed = await post(gateway, url, { username: '  Lovelace ' }, pair.access_token)
      t.equal(changed.statusCode, 200)
      t.same(changed.json(), { ...pair.user, username: 'Lovelace' })
      t.equal(
        (await post(gateway, url, { username: 'LOVELACE' }, pair.access_token)).statusCode,
        200,
        'changing only the case of your own name is allowed',
      )
      refused(t, await post(gateway, url, { username: 'bob' }, pair.access_token), 409, 'username_taken')
      refused(t, await post(gateway, url, { username: 'x' }, pair.access_token), 400, 'invalid_username')
      // A NUL is refused for every route before the handler (PARLEY_ERR_HTTP_NUL), this one too.
      refused(t, await post(gateway, url, { username: 'a\u0000b' }, pair.access_token), 400, 'invalid_request')
      refused(t, await post(gateway, url, { username: 'nobody' }), 401, 'unauthorized')
      t.match((await get(gateway, '/api/users/me', pair.access_token)).json(), { username: 'LOVELACE' })
    })

    t.test('email change, with its errors', async t => {
      const gateway = await boot(t)
      const pair = (await register(gateway)).json() as Pair
      await register(gateway, { email: 'bob@example.com', username: 'Bob' })
      const url = '/api/users/me/email'
      const changed = await post(gateway, url, { email: ' Ada.Lovelace@Example.org' }, pair.access_token)
      t.equal(changed.statusCode, 200)
      t.same(changed.json(), { ...pair.user, email: 'ada.lovelace@example.org' })
      refused(t, await post(gateway, url, { email: 'BOB@example.com' }, pair.access_token), 409, 'email_taken')
      refused(t, await post(gateway, url, { email: 'nope@' }, pair.access_token), 400, 'invalid_email')
      t.equal((await login(gateway, 'ada.lovelace@example.org')).statusCode, 200, 'the new email signs in')
      refused(t, await login(gateway, 'ada@example.com'), 401, 'invalid_credentials', 'the old one no longer does')
    })

    t.test('password change, with its errors; success ends every session and returns a new pair', async t => {
      const gateway = await boot(t)
      const pair = (await register(gateway)).json() as Pair
      const other = (await login(gateway)).json() as Pair
      const url = '/api/users/me/password'
      const NEW = 'a-brand-new-passphrase'
      refused(
        t,
        await post(
          gateway,
          url,
          { current_password: 'not-my-password', password: NEW, password_confirm: NEW },
          pair.access_token,
        ),
        400,
        'wrong_password',
      )
      refused(
        t,
        await post(
          gateway,
          url,
          { current_password: PASSWORD, password: NEW, password_confirm: `${NEW}x` },
          pair.access_token,
        ),
        400,
        'password_mismatch',
      )
      refused(
        t,
        await post(
          gateway,
          url,
          { current_password: PASSWORD, password: 'short', password_confirm: 'short' },
          pair.access_token,
        ),
        400,
        'weak_password',
      )
      t.equal((await login(gateway)).statusCode, 200, 'refused changes left the password alone')

      const response = await post(
        gateway,
        url,
        { current_password: PASSWORD, password: NEW, password_confirm: NEW },
        pair.access_token,
      )
      t.equal(response.statusCode, 200)
      const fresh = response.json() as Pair
      t.match(fresh, {
        access_token: String,
        refresh_token: String,
        token_type: 'bearer',
        expires_in: 900,
        user: pair.user,
      })
      refused(
        t,
        await refresh(gateway, pair.refresh_token),
        401,
        'invalid_refresh_token',
        'the session that changed it',
      )
      refused(t, await refresh(gateway, other.refresh_token), 401, 'invalid_refresh_token', 'every other session')
      t.equal(
        (await refresh(gateway, fresh.refresh_token)).statusCode,
        200,
        'the new pair is a new family, untouched by that reuse',
      )
      refused(t, await login(gateway), 401, 'invalid_credentials', 'the old password')
      t.equal((await login(gateway, 'ada@example.com', NEW)).statusCode, 200, 'the new password')
    })
  })

  t.test(`${dialect.name}: admin login`, { skip: dialect.skip }, async t => {
    t.test('gives an admin a token valid 24 h', async t => {
      const gateway = await boot(t)
      const response = await post(gateway, '/api/auth/admin/login', { username: 'ADMIN ', password: ADMIN.password })
      t.equal(response.statusCode, 200)
      const body = response.json() as { access_token: string; token_type: string; expires_in: number }
      t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'token_type'], 'no refresh token')
      t.match(body, { token_type: 'bearer', expires_in: 86_400 })
      const claims = decodeJwt(body.access_token)
      t.equal((claims.exp ?? 0) - (claims.iat ?? 0), 86_400, 'the JWT itself lives 24 h')
      t.match((await get(gateway, '/api/users/me', body.access_token)).json(), { username: 'admin', role: 'root' })
    })

    t.test('refuses a plain user, a wrong password and an unknown name alike', async t => {
      const gateway = await boot(t)
      await register(gateway)
      const asUser = refused(
        t,
        await post(gateway, '/api/auth/admin/login', { username: 'Ada', password: PASSWORD }),
        401,
        'invalid_credentials',
        'user role',
      )
      const wrong = refused(
        t,
        await post(gateway, '/api/auth/admin/login', { username: 'admin', password: 'wrong-password' }),
        401,
        'invalid_credentials',
        'wrong password',
      )
      const unknown = refused(
        t,
        await post(gateway, '/api/auth/admin/login', { username: 'ghost', password: 'whatever-1' }),
        401,
        'invalid_credentials',
        'unknown',
      )
      t.same(asUser, wrong)
      t.same(unknown, wrong)
    })
  })
}

function post(gateway: TestGateway, url: string, payload: Options, token?: string): Promise<Reply> {
  return gateway.inject({ method: 'POST', url, payload, headers: token ? { authorization: `Bearer ${token}` } : {} })
}

function get(gateway: TestGateway, url: string, token?: string): Promise<Reply> {
  return gateway.inject({ method: 'GET', url, headers: token ? { authorization: `Bearer ${token}` } : {} })
}

function register(gateway: TestGateway, fields: Options = {}): Promise<Reply> {
  return post(gateway, '/api/auth/register', {
    email: 'ada@example.com',
    username: 'Ada',
    password: PASSWORD,
    password_confirm: PASSWORD,
    ...fields,
  })
}

function login(gateway: TestGateway, email = 'ada@example.com', password = PASSWORD): Promise<Reply> {
  return post(gateway, '/api/auth/login', { email, password })
}

function refresh(gateway: TestGateway, token: string): Promise<Reply> {
  return post(gateway, '/api/auth/refresh', { refresh_token: token })
}

/** Asserts the error envelope with its status and type; returns the error for comparisons. */
function refused(
  t: Test,
  response: Reply,
  status: number,
  type: string,
  label = type,
): { type: string; message: string } {
  t.equal(response.statusCode, status, `${label}: status ${status}`)
  const body = response.json() as { error: { type: string; message: string } }
  t.match(body, { error: { type, message: String } }, `${label}: type ${type}`)
  return body.error
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? 0
}
