import t from 'tap'
import identity from '@parley/identity'
import { definePlugin, principalOf } from '@parley/core'
import { createTestGateway } from '@parley/core/testing'

// Another plugin's prefixed bearer tokens (the widget's `pws_…` sessions) reach that plugin's
// auth strategy even though identity's strategy is asked first; anything else identity does
// not recognise is still refused as an invalid token.

const ADMIN = { username: 'admin', password: 'admin-password-0' }
const SESSION = `pws_${'a'.repeat(43)}`

const sessions = definePlugin({
  id: 'fake-sessions',
  version: '1.0.0',
  requires: ['identity'],
  setup(ctx) {
    ctx.auth.register('sessions', {
      authenticate: request =>
        request.headers.authorization === `Bearer ${SESSION}`
          ? { kind: 'widget_user', clientId: 'c1', externalId: '+8613800000000', group: 'default' }
          : undefined,
    })
    ctx.http.get('/api/test/whoami', async request => ({ kind: (await principalOf(request))?.kind ?? 'anonymous' }))
  },
})

t.test("a foreign prefixed token goes to its plugin's strategy", async t => {
  const gateway = await createTestGateway({ plugins: [identity, sessions], config: { admin: ADMIN } })
  t.teardown(gateway.close)
  const ask = (authorization: string) =>
    gateway.inject({ method: 'GET', url: '/api/test/whoami', headers: { authorization } })

  t.same((await ask(`Bearer ${SESSION}`)).json(), { kind: 'widget_user' }, 'the session plugin answers')
  t.same(
    (await ask(`Bearer pws_${'b'.repeat(43)}`)).json(),
    { kind: 'anonymous' },
    'an unknown one of that shape is nobody, not a crash',
  )
  const garbage = await ask('Bearer not-a-token')
  t.equal(garbage.statusCode, 401, 'other garbage is still an invalid token')
  t.match(garbage.json(), { error: { type: 'invalid_token' } })
  t.match(
    (await ask('Bearer prl_short')).json(),
    { error: { type: String } },
    "a malformed token of identity's own prefix is identity's to refuse",
  )
})

t.test('with no other strategy, a prefixed token identity does not know is an invalid token', async t => {
  const gateway = await createTestGateway({ plugins: [identity], config: { admin: ADMIN } })
  t.teardown(gateway.close)
  const response = await gateway.inject({
    method: 'GET',
    url: '/api/users/me',
    headers: { authorization: `Bearer ${SESSION}` },
  })
  t.equal(response.statusCode, 401)
  t.match(response.json(), { error: { type: 'invalid_token' } })
})
