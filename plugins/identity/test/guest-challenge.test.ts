import t from 'tap'
import identity, { GUEST_PASS_HEADER, IDENTITY_CHALLENGES, type IdentityChallenges } from '@parley/identity'
import { definePlugin, type Gateway } from '@parley/core'
import { createTestGateway } from '@parley/core/testing'
import { GuestPasses } from '../src/guest-pass.js'

// Guest chat behind a challenge plugin (Turnstile, hCaptcha): a guest solves one challenge for
// a pass bound to its address, and guest requests without a valid pass are refused.

const ADMIN = { username: 'admin', password: 'admin-password-0' }
const GUEST = '198.51.100.7'

const fakeChallenge = definePlugin({
  id: 'fake-challenge',
  version: '1.0.0',
  requires: ['identity'],
  setup(ctx) {
    ctx.container.resolve<IdentityChallenges>(IDENTITY_CHALLENGES).use({
      verify: async input => input.action === 'guest' && input.token === 'solved',
    })
  },
})

function models(gateway: Gateway, headers: Record<string, string> = {}, remoteAddress = GUEST) {
  return gateway.inject({ method: 'GET', url: '/api/chat/models', headers, remoteAddress })
}

function guestPass(gateway: Gateway, body: Record<string, unknown>, remoteAddress = GUEST) {
  return gateway.inject({ method: 'POST', url: '/api/auth/guest-pass', payload: body, remoteAddress })
}

t.test('with a challenge plugin, guests chat only with a pass bought by a solved challenge', async t => {
  const gateway = await createTestGateway({ plugins: [identity, fakeChallenge], config: { admin: ADMIN } })
  t.teardown(gateway.close)

  t.match(
    (await guestPass(gateway, { challenge_token: 'solved' })).json(),
    { error: { type: 'guest_disabled' } },
    'no pass while guest access is off',
  )
  await gateway.settings.set('allow_guest', true)

  const refused = await models(gateway)
  t.equal(refused.statusCode, 401, 'a guest without a pass is refused')
  t.match(refused.json(), { error: { type: 'challenge_required', message: /guest-pass/ } })
  t.match(
    (await models(gateway, { 'accept-language': 'zh-CN' })).json(),
    { error: { type: 'challenge_required', message: /人机验证/ } },
    'in Chinese too',
  )

  t.match((await guestPass(gateway, {})).json(), { error: { type: 'challenge_failed' } }, 'no token: no pass')
  t.match(
    (await guestPass(gateway, { challenge_token: 'guessed' })).json(),
    { error: { type: 'challenge_failed' } },
    'a wrong token: no pass',
  )
  const issued = await guestPass(gateway, { challenge_token: 'solved' })
  t.equal(issued.statusCode, 200)
  const { guest_pass: pass, expires_in: expiresIn } = issued.json() as { guest_pass: string; expires_in: number }
  t.equal(expiresIn, 3600, 'the default lifetime')

  t.equal((await models(gateway, { [GUEST_PASS_HEADER]: pass })).statusCode, 200, 'the pass lets the guest in')
  t.equal(
    (await models(gateway, { [GUEST_PASS_HEADER]: pass }, '203.0.113.9')).statusCode,
    401,
    'the same pass from another address does not',
  )
  t.equal(
    (await models(gateway, { [GUEST_PASS_HEADER]: `${pass.slice(0, -2)}xx` })).statusCode,
    401,
    'a tampered pass does not',
  )
  t.equal(
    (await models(gateway, { [GUEST_PASS_HEADER]: 'gp1.99999999999.abc' })).statusCode,
    401,
    'a forged far-future pass does not',
  )

  const login = await gateway.inject({
    method: 'POST',
    url: '/api/auth/admin/login',
    payload: ADMIN,
    remoteAddress: GUEST,
  })
  const token = (login.json() as { access_token: string }).access_token
  t.equal(
    (await models(gateway, { authorization: `Bearer ${token}` })).statusCode,
    200,
    'a signed-in caller needs no pass',
  )
})

t.test('without a challenge plugin guests need no pass', async t => {
  const gateway = await createTestGateway({ plugins: [identity], config: { admin: ADMIN } })
  t.teardown(gateway.close)
  await gateway.settings.set('allow_guest', true)
  t.equal((await models(gateway)).statusCode, 200)
  t.equal((await guestPass(gateway, {})).statusCode, 200, 'a pass is still issued, and harmless')
})

t.test('a pass expires', async t => {
  let now = Date.parse('2026-12-06T00:00:00Z')
  const passes = new GuestPasses(new Uint8Array(32).fill(7), 60, () => now)
  const { pass } = passes.issue(GUEST)
  t.ok(passes.valid(pass, GUEST))
  now += 59_000
  t.ok(passes.valid(pass, GUEST), 'still valid a second before')
  now += 1_000
  t.notOk(passes.valid(pass, GUEST), 'not at its expiry')
  t.notOk(new GuestPasses(new Uint8Array(32).fill(8), 60, () => now - 1000).valid(pass, GUEST), 'another server key')
  t.notOk(passes.valid(undefined, GUEST))
  t.notOk(passes.valid('x'.repeat(500), GUEST))
})
