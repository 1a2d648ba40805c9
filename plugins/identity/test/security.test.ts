import { randomBytes } from 'node:crypto'
import { Writable } from 'node:stream'
import t, { type Test } from 'tap'
import { decodeJwt, SignJWT } from 'jose'
import pino from 'pino'
import { definePlugin, type Gateway, type Logger } from '@parley/core'
import identity from '@parley/identity'
import {
  createTestGateway,
  freePort,
  missingService,
  testServices,
  type TestGateway,
  type TestGatewayOptions,
} from '@parley/core/testing'

// Attacks on the identity plugin (docs/security.md): forged JWTs, mass assignment, brute force, and
// secrets in logs. On every dialect, black-box through inject().

const dialects = [
  { name: 'sqlite', skip: false as string | false, mysqlUrl: undefined as string | undefined },
  { name: 'mysql', skip: missingService('mysql'), mysqlUrl: testServices.mysqlUrl },
]

const PASSWORD = 'correct-horse-battery'
const ADMIN = { username: 'admin', password: 'admin-password-0' }

/** Answers the caller's principal: guests, users and tokens alike. */
const probe = definePlugin({
  id: 'probe',
  version: '1.0.0',
  requires: ['identity'],
  setup(ctx) {
    ctx.http.get('/api/probe/principal', async request => ({ principal: (await request.principal()) ?? null }))
  },
})

interface Pair {
  access_token: string
  refresh_token: string
  user: { id: number; email: string; username: string; role: string; group: string }
}
interface Reply {
  statusCode: number
  headers: Record<string, string | string[] | number | undefined>
  body: string
  json(): unknown
}
type Body = Record<string, unknown>

for (const dialect of dialects) {
  const boot = async (t: Test, options: Body = {}, extra: Partial<TestGatewayOptions> = {}): Promise<TestGateway> => {
    const gateway = await createTestGateway({
      plugins: [{ plugin: identity, options }, probe],
      mysqlUrl: dialect.mysqlUrl,
      ...extra,
      config: { admin: ADMIN, ...(extra.config ?? {}) },
    })
    t.teardown(gateway.close)
    return gateway
  }

  t.test(`${dialect.name}: forged and misused JWTs are refused`, { skip: dialect.skip }, async t => {
    const secret = randomBytes(32).toString('hex')
    const gateway = await boot(t, {}, { config: { secrets: { secret_key: secret } } })
    t.equal(gateway.config.secrets.secret_key, secret)
    const pair = (await register(gateway)).json() as Pair
    const sub = String(pair.user.id)
    const key = new TextEncoder().encode(secret)
    const forge = (
      options: {
        alg?: string
        key?: Uint8Array
        scope?: unknown
        iss?: string
        aud?: string
        iat?: number
        exp?: number
      } = {},
    ) => {
      const now = Math.floor(Date.now() / 1000)
      return new SignJWT({ scope: 'scope' in options ? options.scope : 'session' })
        .setProtectedHeader({ alg: options.alg ?? 'HS256', typ: 'JWT' })
        .setSubject(sub)
        .setIssuer(options.iss ?? 'parley')
        .setAudience(options.aud ?? 'parley-api')
        .setIssuedAt(options.iat ?? now)
        .setExpirationTime(options.exp ?? now + 600)
        .sign(options.key ?? key)
    }

    // The forger is right: a token it signs with the gateway's secret is accepted. So each
    // refusal below is caused by the one thing that test changes.
    t.match((await me(gateway, await forge())).json(), { id: pair.user.id }, 'control: a well-made token works')

    const now = Math.floor(Date.now() / 1000)
    const header = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
    const claims = header({ sub, scope: 'session', iss: 'parley', aud: 'parley-api', iat: now, exp: now + 600 })
    const real = pair.access_token.split('.') as [string, string, string]
    const tamperedScope = header({ ...decodeJwt(pair.access_token), scope: 'admin' })
    const attacks: Array<[string, string, string]> = [
      ['alg none, no signature', `${header({ alg: 'none', typ: 'JWT' })}.${claims}.`, 'invalid_token'],
      ['alg none with a signature', `${header({ alg: 'none', typ: 'JWT' })}.${claims}.${real[2]}`, 'invalid_token'],
      ['wrong secret', await forge({ key: randomBytes(32) }), 'invalid_token'],
      ['HS512 with the right secret (algorithm pinned)', await forge({ alg: 'HS512' }), 'invalid_token'],
      ['expired', await forge({ iat: now - 3600, exp: now - 60 }), 'token_expired'],
      ['scope tampered, signature kept', `${real[0]}.${tamperedScope}.${real[2]}`, 'invalid_token'],
      ['unknown scope, correctly signed', await forge({ scope: 'root' }), 'invalid_token'],
      ['no scope, correctly signed', await forge({ scope: undefined }), 'invalid_token'],
      ['foreign issuer', await forge({ iss: 'someone-else' }), 'invalid_token'],
      ['foreign audience', await forge({ aud: 'another-api' }), 'invalid_token'],
      ['refresh token as Bearer', pair.refresh_token, 'invalid_token'],
      ['header and payload only', `${real[0]}.${real[1]}`, 'invalid_token'],
    ]
    for (const [label, token, type] of attacks) {
      const response = await me(gateway, token)
      t.equal(response.statusCode, 401, `${label}: 401`)
      t.match(response.json(), { error: { type } }, `${label}: ${type}`)
    }
    t.equal(
      (await gateway.inject({ url: '/api/users/me', headers: { authorization: `Basic ${pair.access_token}` } }))
        .statusCode,
      401,
      'another scheme',
    )
    t.equal((await me(gateway, pair.access_token)).statusCode, 200, 'the real token still works after all that')
  })

  t.test(
    `${dialect.name}: an admin-scope token is only as good as its holder's role`,
    { skip: dialect.skip },
    async t => {
      const secret = randomBytes(32).toString('hex')
      const gateway = await boot(t, {}, { config: { secrets: { secret_key: secret } } })
      const pair = (await register(gateway)).json() as Pair
      const forged = await new SignJWT({ scope: 'admin' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(String(pair.user.id))
        .setIssuer('parley')
        .setAudience('parley-api')
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode(secret))
      t.match(
        (await me(gateway, forged)).json(),
        { error: { type: 'invalid_token' } },
        'a plain user with an admin token is refused',
      )
    },
  )

  t.test(`${dialect.name}: mass assignment changes nothing`, { skip: dialect.skip }, async t => {
    const gateway = await boot(t)
    const pair = (await register(gateway)).json() as Pair
    const smuggled = {
      role: 'root',
      group: 'vip',
      password_hash: '$argon2id$v=19$m=19456,t=2,p=1$forged',
      status: 'active',
      id: 1,
    }
    const attempts: Array<[string, Body]> = [
      ['/api/users/me/username', { username: 'Mallory', ...smuggled }],
      ['/api/users/me/email', { email: 'mallory@example.com', ...smuggled }],
      [
        '/api/users/me/password',
        { current_password: PASSWORD, password: 'another-password', password_confirm: 'another-password', ...smuggled },
      ],
    ]
    for (const [url, payload] of attempts) {
      for (const field of Object.keys(smuggled)) {
        const single = Object.fromEntries(
          Object.entries(payload).filter(([name]) => !(name in smuggled) || name === field),
        )
        const response = await post(gateway, url, single, pair.access_token)
        t.equal(response.statusCode, 400, `${url} with ${field}: 400`)
        t.match(
          response.json(),
          { error: { type: 'invalid_request', field } },
          `${url} with ${field}: the field is named`,
        )
      }
    }
    t.same((await me(gateway, pair.access_token)).json(), pair.user, 'username, email, role and group unchanged')
    t.equal((await login(gateway)).statusCode, 200, 'the password is unchanged')

    const asRoot = await register(gateway, { email: 'eve@example.com', username: 'Eve', role: 'root' })
    t.equal(asRoot.statusCode, 400, 'register with role: root')
    t.match(asRoot.json(), { error: { type: 'invalid_request', field: 'role' } })
    t.equal(
      (await register(gateway, { email: 'eve@example.com', username: 'Eve', group: 'vip' })).statusCode,
      400,
      'register with a group',
    )
    t.match(
      (await login(gateway, 'eve@example.com')).json(),
      { error: { type: 'invalid_credentials' } },
      'no account was created',
    )
  })

  t.test(`${dialect.name}: throttling`, { skip: dialect.skip }, async t => {
    // The memory KV store keeps time with performance.now(): moving that clock ends a window
    // without sleeping through it.
    const clock = (t: Test) => {
      const real = performance.now.bind(performance)
      let skew = 0
      t.capture(performance, 'now', () => real() + skew)
      return { advance: (ms: number) => void (skew += ms) }
    }
    const WINDOW = 10 // the option's minimum

    t.test(
      'per account and address: the attempt after the limit gets 429 even with the right password, until the window ends',
      async t => {
        const { advance } = clock(t)
        const gateway = await boot(t, { login_max_failures_per_account_and_ip: 3, throttle_window_seconds: WINDOW })
        await register(gateway)
        await register(gateway, { email: 'bob@example.com', username: 'Bob' })
        for (let i = 1; i <= 3; i++)
          t.equal((await login(gateway, 'ada@example.com', 'wrong-password')).statusCode, 401, `failure ${i}`)
        const blocked = await login(gateway)
        t.equal(blocked.statusCode, 429, 'the right password is refused too')
        const error = (blocked.json() as { error: { type: string; retry_after: number; message: string } }).error
        t.match(error, { type: 'rate_limit_exceeded', retry_after: Number, message: String })
        t.ok(
          error.retry_after >= 1 && error.retry_after <= WINDOW,
          `retry_after ${error.retry_after} is within the window`,
        )
        t.equal(blocked.headers['retry-after'], String(error.retry_after), 'the Retry-After header says the same')
        t.equal(
          (await login(gateway, 'ADA@example.com')).statusCode,
          429,
          'another spelling of the email is the same account',
        )
        t.equal(
          (await login(gateway, 'bob@example.com')).statusCode,
          200,
          'another account from the same IP is not affected',
        )
        t.equal(
          (await login(gateway, 'ada@example.com', PASSWORD, '198.51.100.9')).statusCode,
          200,
          'the account from another address is not affected',
        )
        advance(WINDOW * 1000 + 500)
        t.equal((await login(gateway)).statusCode, 200, 'after the window the right password works again')
        for (let i = 1; i <= 3; i++)
          t.equal(
            (await login(gateway, 'ada@example.com', 'wrong-password')).statusCode,
            401,
            `a new window: failure ${i}`,
          )
        t.equal((await login(gateway)).statusCode, 429, 'and counts afresh')
      },
    )

    t.test('a successful sign-in resets the counter of its account and address', async t => {
      const gateway = await boot(t, { login_max_failures_per_account_and_ip: 3, throttle_window_seconds: WINDOW })
      await register(gateway)
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < 2; i++) t.equal((await login(gateway, 'ada@example.com', 'wrong-password')).statusCode, 401)
        t.equal((await login(gateway)).statusCode, 200, `round ${round}: two failures then success`)
      }
    })

    t.test('per IP: failures across different accounts from one address', async t => {
      const { advance } = clock(t)
      const gateway = await boot(t, { login_max_failures_per_ip: 3, throttle_window_seconds: WINDOW })
      await register(gateway)
      const ip = '203.0.113.7'
      t.equal((await login(gateway, 'one@example.com', 'whatever-123', ip)).statusCode, 401)
      t.equal((await login(gateway, 'two@example.com', 'whatever-123', ip)).statusCode, 401)
      t.equal((await login(gateway, 'ada@example.com', 'wrong-password', ip)).statusCode, 401)
      const blocked = await login(gateway, 'ada@example.com', PASSWORD, ip)
      t.equal(blocked.statusCode, 429, 'a fourth account from that address is refused, right password or not')
      t.match(blocked.json(), { error: { type: 'rate_limit_exceeded', retry_after: Number } })
      t.equal(
        (await login(gateway, 'ada@example.com', PASSWORD, '203.0.113.8')).statusCode,
        200,
        'another address is not affected',
      )
      advance(WINDOW * 1000 + 500)
      t.equal(
        (await login(gateway, 'ada@example.com', PASSWORD, ip)).statusCode,
        200,
        'the address works again after the window',
      )
    })

    t.test('an IPv6 client counts by its /64', async t => {
      const gateway = await boot(t, { login_max_failures_per_account_and_ip: 3, throttle_window_seconds: WINDOW })
      await register(gateway)
      for (let i = 1; i <= 3; i++)
        t.equal(
          (await login(gateway, 'ada@example.com', 'wrong-password', `2001:db8:7:7::${i}`)).statusCode,
          401,
          `failure ${i} from another address of the /64`,
        )
      t.equal(
        (await login(gateway, 'ada@example.com', PASSWORD, '2001:db8:7:7:ffff::9')).statusCode,
        429,
        'the whole /64 is refused',
      )
      t.equal(
        (await login(gateway, 'ada@example.com', PASSWORD, '2001:db8:7:8::1')).statusCode,
        200,
        'the next /64 is not',
      )
    })

    t.test('nobody can lock the admin out from elsewhere: failures bind their own address', async t => {
      const gateway = await boot(t)
      const adminLogin = (password: string, ip: string) =>
        post(gateway, '/api/auth/admin/login', { username: 'admin', password }, undefined, ip)
      for (let i = 1; i <= 5; i++)
        t.equal((await adminLogin('wrong-password', '198.51.100.66')).statusCode, 401, `attacker's failure ${i}`)
      t.equal(
        (await adminLogin(ADMIN.password, '198.51.100.66')).statusCode,
        429,
        "the attacker's address is refused, right password or not",
      )
      t.equal(
        (await adminLogin(ADMIN.password, '192.0.2.10')).statusCode,
        200,
        'the admin signs in from their own address (never used before)',
      )
      for (let i = 1; i <= 5; i++)
        t.equal(
          (await login(gateway, 'admin@parley.invalid', 'wrong-password', '198.51.100.66')).statusCode,
          401,
          `portal failure ${i}`,
        )
      t.equal(
        (await login(gateway, 'admin@parley.invalid', ADMIN.password, '192.0.2.10')).statusCode,
        200,
        'the portal sign-in of the same account too',
      )
    })

    t.test('the account-wide limit refuses unknown addresses only, never one the account signed in from', async t => {
      const { advance } = clock(t)
      const gateway = await boot(t, {
        login_max_failures_per_account_and_ip: 2,
        login_max_failures_per_account: 6,
        throttle_window_seconds: WINDOW,
      })
      await register(gateway)
      const home = '192.0.2.44'
      t.equal(
        (await login(gateway, 'ada@example.com', PASSWORD, home)).statusCode,
        200,
        'Ada signs in from home: the address becomes known',
      )
      // A distributed guess: 2 failures from each of 3 addresses reach the account-wide limit.
      for (const ip of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) {
        for (let i = 0; i < 2; i++)
          t.equal((await login(gateway, 'ada@example.com', 'wrong-password', ip)).statusCode, 401, `failure from ${ip}`)
      }
      const blocked = await login(gateway, 'ada@example.com', PASSWORD, '203.0.113.99')
      t.equal(blocked.statusCode, 429, 'a new address is refused, right password or not')
      t.match(blocked.json(), { error: { type: 'rate_limit_exceeded', retry_after: Number } })
      t.equal(
        (await login(gateway, 'ada@example.com', 'wrong-password', '203.0.113.98')).statusCode,
        429,
        'and its guesses are not even tried',
      )
      t.equal(
        (await login(gateway, 'ada@example.com', PASSWORD, home)).statusCode,
        200,
        'the known address signs in during the attack',
      )
      t.equal(
        (await login(gateway, 'ada@example.com', 'wrong-password', home)).statusCode,
        401,
        'a known address still has its own pair counter',
      )
      advance(WINDOW * 1000 + 500)
      t.equal(
        (await login(gateway, 'ada@example.com', PASSWORD, '203.0.113.99')).statusCode,
        200,
        'the lock ends with its window: no one can hold it without guessing afresh',
      )
    })

    t.test('admin login is throttled per account and address', async t => {
      const { advance } = clock(t)
      const gateway = await boot(t, { login_max_failures_per_account_and_ip: 3, throttle_window_seconds: WINDOW })
      const adminLogin = (password: string) => post(gateway, '/api/auth/admin/login', { username: 'admin', password })
      for (let i = 1; i <= 3; i++) t.equal((await adminLogin('wrong-password')).statusCode, 401, `failure ${i}`)
      const blocked = await adminLogin(ADMIN.password)
      t.equal(blocked.statusCode, 429)
      t.match(blocked.json(), { error: { type: 'rate_limit_exceeded', retry_after: Number } })
      advance(WINDOW * 1000 + 500)
      t.equal((await adminLogin(ADMIN.password)).statusCode, 200, 'after the window')
    })

    t.test('refresh is throttled per IP, and a throttled refresh does not spend the token', async t => {
      const { advance } = clock(t)
      const gateway = await boot(t, { login_max_failures_per_ip: 3, throttle_window_seconds: WINDOW })
      const pair = (await register(gateway)).json() as Pair
      for (let i = 1; i <= 3; i++) t.equal((await refresh(gateway, `guess-${i}`)).statusCode, 401, `guess ${i}`)
      const blocked = await refresh(gateway, pair.refresh_token)
      t.equal(blocked.statusCode, 429)
      t.match(blocked.json(), { error: { type: 'rate_limit_exceeded', retry_after: Number } })
      advance(WINDOW * 1000 + 500)
      t.equal(
        (await refresh(gateway, pair.refresh_token)).statusCode,
        200,
        'after the window the same token still works',
      )
    })

    t.test('password change is throttled per account and address', async t => {
      const gateway = await boot(t, { login_max_failures_per_account_and_ip: 3, throttle_window_seconds: WINDOW })
      const pair = (await register(gateway)).json() as Pair
      const change = (current: string) =>
        post(
          gateway,
          '/api/users/me/password',
          { current_password: current, password: 'new-password-1', password_confirm: 'new-password-1' },
          pair.access_token,
        )
      for (let i = 1; i <= 3; i++) t.equal((await change('wrong-password')).statusCode, 400, `guess ${i}`)
      t.match(
        (await change(PASSWORD)).json(),
        { error: { type: 'rate_limit_exceeded' } },
        'a stolen session cannot brute-force the current password',
      )
    })
  })

  t.test(`${dialect.name}: guests`, { skip: dialect.skip }, async t => {
    const gateway = await boot(t)
    const principal = async (headers: Record<string, string> = {}) =>
      (await gateway.inject({ url: '/api/probe/principal', remoteAddress: '203.0.113.5', headers })).json()
    t.same(await principal(), { principal: null }, 'guest access is off by default: anonymous')
    await gateway.settings.set('allow_guest', true)
    t.same(
      await principal(),
      { principal: { kind: 'guest', ip: '203.0.113.5', group: 'default' } },
      'on: a guest per IP',
    )
    await gateway.settings.set('default_group', 'visitors')
    t.match(await principal(), { principal: { kind: 'guest', group: 'visitors' } }, 'guests follow the default group')
    const pair = (await register(gateway)).json() as Pair
    t.match(
      await principal({ authorization: `Bearer ${pair.access_token}` }),
      { principal: { kind: 'user', userId: String(pair.user.id) } },
      'a session still wins',
    )
    t.match(
      await principal({ authorization: 'Bearer not-a-token' }),
      { error: { type: 'invalid_token' } },
      'a bad credential is refused, not downgraded to a guest',
    )
  })
}

t.test(
  'throttling is shared by instances on the same database and Redis',
  { skip: missingService('mysql') || missingService('redis') },
  async t => {
    const options = { login_max_failures_per_account_and_ip: 3, throttle_window_seconds: 60 }
    const a = await createTestGateway({
      plugins: [{ plugin: identity, options }],
      mysqlUrl: testServices.mysqlUrl,
      redisUrl: testServices.redisUrl,
      config: { admin: ADMIN },
    })
    const b = await createTestGateway({
      sharedWith: a,
      plugins: [{ plugin: identity, options }],
      config: { admin: ADMIN },
    })
    t.teardown(async () => {
      await b.close()
      await a.close()
    })
    t.equal(b.kv.kind, 'redis')

    await register(a)
    t.equal((await login(b)).statusCode, 200, 'B sees the account A registered')
    for (let i = 1; i <= 3; i++)
      t.equal((await login(a, 'ada@example.com', 'wrong-password')).statusCode, 401, `failure ${i} on A`)
    const blocked = await login(b)
    t.equal(blocked.statusCode, 429, 'B refuses the fourth attempt')
    t.match(blocked.json(), { error: { type: 'rate_limit_exceeded', retry_after: Number } })
  },
)

t.test(
  'when the counters cannot be read, sign-in fails closed with 503 instead of letting guesses through',
  async t => {
    const deadRedis = `redis://127.0.0.1:${await freePort()}`
    const gateway = await createTestGateway({ plugins: [identity], redisUrl: deadRedis, config: { admin: ADMIN } })
    t.teardown(gateway.close)
    t.equal((await register(gateway)).statusCode, 201, 'registration does not need the counters')
    for (const response of [
      await login(gateway),
      await login(gateway, 'ada@example.com', 'wrong-password'),
      await refresh(gateway, 'whatever'),
    ]) {
      t.equal(response.statusCode, 503)
      t.match(response.json(), { error: { type: 'service_unavailable', message: String } })
    }
  },
)

for (const dialect of dialects) {
  t.test(
    `${dialect.name}: no password, token, hash or secret appears in any log line`,
    { skip: dialect.skip },
    async t => {
      const lines: string[] = []
      const sink = new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(...chunk.toString('utf8').split('\n').filter(Boolean))
          done()
        },
      })
      const logger = pino({ level: 'trace' }, sink) as unknown as Logger
      const gateway = await createTestGateway({
        plugins: [identity, probe],
        mysqlUrl: dialect.mysqlUrl,
        logger,
        config: { admin: ADMIN },
      })
      t.teardown(gateway.close)
      const secrets = new Set<string>([
        PASSWORD,
        ADMIN.password,
        gateway.config.secrets.secret_key ?? '',
        gateway.config.secrets.encryption_key ?? '',
      ])
      const keep = (...values: string[]) => values.forEach(value => secrets.add(value))

      const NEW = 'a-brand-new-passphrase'
      keep(NEW, 'wrong-password-guess')
      const pair = (await register(gateway)).json() as Pair
      keep(pair.access_token, pair.refresh_token)
      await login(gateway, 'ada@example.com', 'wrong-password-guess')
      await login(gateway, 'nobody@example.com', 'wrong-password-guess')
      const second = (await login(gateway)).json() as Pair
      keep(second.access_token, second.refresh_token)
      const rotated = (await refresh(gateway, second.refresh_token)).json() as Pair
      keep(rotated.access_token, rotated.refresh_token)
      await refresh(gateway, second.refresh_token) // reuse: revokes the family
      await post(gateway, '/api/auth/logout', { refresh_token: pair.refresh_token })
      await me(gateway, pair.refresh_token)
      await gateway.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: { 'content-type': 'application/json' },
        payload: `{"email":"ada@example.com","password":"${PASSWORD}"`,
      })
      await post(gateway, '/api/auth/login', { email: 'ada@example.com', password: PASSWORD, password_hash: 'x' })
      await post(
        gateway,
        '/api/users/me/password',
        { current_password: 'wrong-password-guess', password: NEW, password_confirm: NEW },
        pair.access_token,
      )
      const changed = (
        await post(
          gateway,
          '/api/users/me/password',
          { current_password: PASSWORD, password: NEW, password_confirm: NEW },
          pair.access_token,
        )
      ).json() as Pair
      keep(changed.access_token, changed.refresh_token)
      const admin = (
        await post(gateway, '/api/auth/admin/login', { username: 'admin', password: ADMIN.password })
      ).json() as { access_token: string }
      keep(admin.access_token)
      await post(gateway, '/api/auth/admin/login', { username: 'admin', password: 'wrong-password-guess' })

      const session = changed.access_token
      const created = (await post(gateway, '/api/tokens', { name: 'ci' }, session)).json() as {
        id: number
        token: string
      }
      keep(created.token)
      await gateway.inject({ url: '/api/probe/principal', headers: { authorization: `Bearer ${created.token}` } })
      await gateway.inject({ url: '/api/probe/principal', headers: { 'x-api-key': created.token } })
      const renewed = (await post(gateway, `/api/tokens/${created.id}/regenerate`, {}, session)).json() as {
        token: string
      }
      keep(renewed.token)
      await gateway.inject({ url: '/api/probe/principal', headers: { 'x-api-key': created.token } })
      await gateway.inject({ url: '/api/probe/principal', headers: { 'x-api-key': `${renewed.token.slice(0, -1)}0` } })
      const chat = (await post(gateway, '/api/chat/token', {}, session)).json() as { token: string }
      const chatAgain = (await post(gateway, '/api/chat/token', {}, session)).json() as { token: string }
      keep(chat.token, chatAgain.token)
      await gateway.inject({
        method: 'DELETE',
        url: `/api/tokens/${created.id}`,
        headers: { authorization: `Bearer ${session}` },
      })
      await gateway.inject({ url: '/api/probe/principal', headers: { 'x-api-key': renewed.token } })
      await gateway.close()

      t.ok(lines.length > 30, `captured ${lines.length} lines`)
      t.ok(
        lines.some(line => line.includes('user registered')),
        'the flows were logged',
      )
      t.ok(
        lines.some(line => line.includes('request completed') && line.includes('/api/tokens')),
        'including the token routes',
      )
      const needles = [...secrets].filter(value => value.length >= 8)
      // A token's body without its prefix, too: a line that cut the prefix off would still leak it.
      for (const value of [...needles]) if (value.startsWith('prl_')) needles.push(value.slice(4))
      t.ok(needles.length >= 20, `${needles.length} secrets to look for`)
      const leaks = lines.flatMap(line =>
        [...needles, '$argon2id$']
          .filter(needle => line.includes(needle))
          .map(needle => `${needle.slice(0, 12)}… in ${line.slice(0, 200)}`),
      )
      t.same(leaks, [], 'no secret in any line')
    },
  )
}

function post(gateway: Gateway, url: string, payload: Body, token?: string, remoteAddress?: string): Promise<Reply> {
  return gateway.inject({
    method: 'POST',
    url,
    payload,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    ...(remoteAddress ? { remoteAddress } : {}),
  })
}

function me(gateway: Gateway, token: string): Promise<Reply> {
  return gateway.inject({ url: '/api/users/me', headers: { authorization: `Bearer ${token}` } })
}

function register(gateway: Gateway, fields: Body = {}): Promise<Reply> {
  return post(gateway, '/api/auth/register', {
    email: 'ada@example.com',
    username: 'Ada',
    password: PASSWORD,
    password_confirm: PASSWORD,
    ...fields,
  })
}

function login(
  gateway: Gateway,
  email = 'ada@example.com',
  password = PASSWORD,
  remoteAddress?: string,
): Promise<Reply> {
  return post(gateway, '/api/auth/login', { email, password }, undefined, remoteAddress)
}

function refresh(gateway: Gateway, token: string): Promise<Reply> {
  return post(gateway, '/api/auth/refresh', { refresh_token: token })
}
