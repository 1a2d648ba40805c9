import t, { type Test } from 'tap'
import identity, { IDENTITY_CHALLENGES, type ChallengeInput, type IdentityChallenges } from '@parley/identity'
import { definePlugin, type Gateway } from '@parley/core'
import { createTestGateway, freePort, missingService, type TestGatewayOptions } from '@parley/core/testing'
import { twoInstances } from './instances.js'

// Registration abuse: accounts per address per hour (an IPv6 client by its /64), a setting to
// change it, and the hook through which a challenge plugin (Turnstile, hCaptcha) verifies a
// token before an account is created.

const ADMIN = { username: 'admin', password: 'admin-password-0' }
const PASSWORD = 'correct-horse-battery'

interface Reply {
  statusCode: number
  headers: Record<string, string | string[] | number | undefined>
  json(): unknown
}

let serial = 0
function register(
  gateway: Gateway,
  remoteAddress: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<Reply> {
  const n = ++serial
  return gateway.inject({
    method: 'POST',
    url: '/api/auth/register',
    remoteAddress,
    headers,
    payload: {
      email: `user${n}@example.com`,
      username: `user${n}`,
      password: PASSWORD,
      password_confirm: PASSWORD,
      ...extra,
    },
  })
}

async function boot(t: Test, options: Partial<TestGatewayOptions> = {}) {
  const gateway = await createTestGateway({ plugins: [identity], config: { admin: ADMIN }, ...options })
  t.teardown(gateway.close)
  return gateway
}

t.test('registration is throttled per address: 5 an hour by default, 429 in the standard shape', async t => {
  const gateway = await boot(t)
  const ip = '203.0.113.5'
  for (let i = 1; i <= 5; i++) t.equal((await register(gateway, ip)).statusCode, 201, `account ${i}`)
  const refused = await register(gateway, ip)
  t.equal(refused.statusCode, 429, 'the sixth is refused')
  const error = (refused.json() as { error: { type: string; message: string; retry_after: number } }).error
  t.match(error, { type: 'rate_limit_exceeded', message: /5 per hour/, retry_after: Number })
  t.ok(
    error.retry_after > 3500 && error.retry_after <= 3600,
    `retry_after ${error.retry_after} s is the rest of the hour`,
  )
  t.equal(refused.headers['retry-after'], String(error.retry_after), 'Retry-After says the same')
  const chinese = await register(gateway, ip, {}, { 'accept-language': 'zh-CN,zh;q=0.9,en;q=0.5' })
  t.equal(chinese.statusCode, 429)
  t.match(
    chinese.json(),
    { error: { type: 'rate_limit_exceeded', message: /每小时最多 5 个/, retry_after: Number } },
    'in Chinese for a Chinese reader',
  )
  t.equal((await register(gateway, '203.0.113.6')).statusCode, 201, 'another address is not affected')
  t.match(
    (await register(gateway, ip, { email: 'not-an-email' })).json(),
    { error: { type: 'invalid_email' } },
    'a bad request still says what is wrong',
  )

  await gateway.settings.set('identity.register_per_hour', 7)
  t.equal((await register(gateway, ip)).statusCode, 201, 'the setting applies at once: a sixth and')
  t.equal((await register(gateway, ip)).statusCode, 201, 'a seventh account')
  t.equal((await register(gateway, ip)).statusCode, 429, 'but not an eighth')
  await gateway.settings.set('identity.register_per_hour', 0)
  t.equal((await register(gateway, ip)).statusCode, 201, '0 means no limit')
})

t.test('an IPv6 client counts by its /64', async t => {
  const gateway = await boot(t)
  for (let i = 1; i <= 5; i++)
    t.equal(
      (await register(gateway, `2001:db8:5:5::${i}`)).statusCode,
      201,
      `account ${i} from another address of the /64`,
    )
  t.equal((await register(gateway, '2001:db8:5:5:abcd:ef01:2345:6789')).statusCode, 429, 'the /64 has used its hour')
  t.equal((await register(gateway, '2001:db8:5:6::1')).statusCode, 201, 'the next /64 has not')
})

t.test('failed registrations do not count', async t => {
  const gateway = await boot(t)
  const ip = '203.0.113.7'
  for (let i = 0; i < 10; i++)
    t.equal((await register(gateway, ip, { password_confirm: 'something-else' })).statusCode, 400)
  const race = await Promise.all([1, 2, 3].map(() => register(gateway, ip, { email: 'same@example.com' })))
  t.same(race.map(r => r.statusCode).sort(), [201, 409, 409], 'three at once with one email: one account')
  for (let i = 2; i <= 5; i++)
    t.equal((await register(gateway, ip)).statusCode, 201, `account ${i}: the losers of the race did not count`)
  t.equal((await register(gateway, ip)).statusCode, 429)
})

t.test(
  'the count is shared by instances on one database and Redis',
  { skip: missingService('mysql') || missingService('redis') },
  async t => {
    const { a, b } = await twoInstances(t, ADMIN)
    const ip = '198.51.100.77'
    for (let i = 1; i <= 5; i++) t.equal((await register(i % 2 === 0 ? a : b, ip)).statusCode, 201, `account ${i}`)
    t.equal((await register(a, ip)).statusCode, 429, 'A refuses the sixth')
    t.equal((await register(b, ip)).statusCode, 429, 'and so does B')
  },
)

t.test('with the KV store down, registration stays open and is throttled per instance', async t => {
  const gateway = await boot(t, { redisUrl: `redis://127.0.0.1:${await freePort()}` })
  await gateway.settings.set('identity.register_per_hour', 2)
  const ip = '203.0.113.8'
  t.equal((await register(gateway, ip)).statusCode, 201)
  t.equal((await register(gateway, ip)).statusCode, 201)
  t.match(
    (await register(gateway, ip)).json(),
    { error: { type: 'rate_limit_exceeded', retry_after: Number } },
    'the third is refused by the local count',
  )
})

t.test('a challenge plugin verifies a token before any account is created', async t => {
  const seen: ChallengeInput[] = []
  let providerDown = false
  const fakeChallenge = definePlugin({
    id: 'fake-challenge',
    version: '1.0.0',
    requires: ['identity'],
    setup(ctx) {
      ctx.container.resolve<IdentityChallenges>(IDENTITY_CHALLENGES).use({
        async verify(input) {
          seen.push(input)
          if (providerDown) throw new Error('provider unreachable')
          return input.token === 'solved'
        },
      })
    },
  })
  const gateway = await createTestGateway({ plugins: [identity, fakeChallenge], config: { admin: ADMIN } })
  t.teardown(gateway.close)
  const ip = '192.0.2.30'

  const missing = await register(gateway, ip)
  t.equal(missing.statusCode, 400, 'no token: refused')
  t.match(missing.json(), { error: { type: 'challenge_failed', message: String } })
  t.match(
    (await register(gateway, ip, { challenge_token: 'guessed' })).json(),
    { error: { type: 'challenge_failed' } },
    'a wrong token: refused',
  )
  t.match(
    (await register(gateway, ip, { challenge_token: 'guessed' }, { 'accept-language': 'zh-CN' })).json(),
    { error: { type: 'challenge_failed', message: /人机验证/ } },
    'in Chinese too',
  )
  const passed = await register(gateway, ip, { challenge_token: 'solved' })
  t.equal(passed.statusCode, 201, 'the solved token: the account is created')
  t.match(seen.at(-1), { action: 'register', token: 'solved', ip })
  providerDown = true
  t.match(
    (await register(gateway, ip, { challenge_token: 'solved' })).json(),
    { error: { type: 'service_unavailable' } },
    'a verifier that fails answers 503',
  )
  providerDown = false
  // Refused challenges did not count: four more accounts fit in the address's five.
  for (let i = 1; i <= 4; i++)
    t.equal((await register(gateway, ip, { challenge_token: 'solved' })).statusCode, 201, `account ${i + 1}`)
  t.equal((await register(gateway, ip, { challenge_token: 'solved' })).statusCode, 429, 'then the hour is used')
  t.equal(
    (await register(gateway, ip, { email: 'x@example.com', challenge_token: 'guessed' })).statusCode,
    400,
    'the challenge comes before the count',
  )
})

t.test('without a challenge plugin the token is accepted and ignored', async t => {
  const gateway = await boot(t)
  t.equal((await register(gateway, '192.0.2.31', { challenge_token: 'anything' })).statusCode, 201)
})
