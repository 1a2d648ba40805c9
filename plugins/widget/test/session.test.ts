import t from 'tap'
import { definePlugin } from '@parley/core'
import { ROOT } from '@parley/core/testing'
import { createClient, createSession, signedRequest, widgetGateway } from './helpers.js'

/** `POST /api/internal/session/create`: the signature matrix, each refusal with its status and type. */

const PATH = '/api/internal/session/create'

t.test('a signed request from an allowed address gets a session; every broken one is refused', async t => {
  const { gateway } = await widgetGateway(t)
  const client = await createClient(gateway)
  const post = (signed: { headers: Record<string, string>; payload: string }, remoteAddress = '127.0.0.1') =>
    gateway.inject({ method: 'POST', url: PATH, remoteAddress, ...signed })
  const refusal = async (
    signed: { headers: Record<string, string>; payload: string },
    status: number,
    type: string,
    remoteAddress?: string,
  ) => {
    const response = await post(signed, remoteAddress)
    t.equal(response.statusCode, status, `${type}: HTTP ${status}`)
    t.equal(response.json().error?.type, type, response.body)
    t.notMatch(response.body, client.secret, 'the secret never appears')
    t.notMatch(response.body, /at .*\.ts:\d+/, 'no stack')
  }

  const ok = await post(
    signedRequest(client.client_id, client.secret, { external_user_id: '+8613800000000', display_name: 'Li Lei' }),
  )
  t.equal(ok.statusCode, 200, ok.body)
  t.match(ok.json(), { session_token: /^pws_[A-Za-z0-9_-]{43}$/, expires_in: 1800 })

  await refusal(signedRequest(client.client_id, 'wsk_not-the-secret'), 401, 'invalid_signature')
  await refusal(
    signedRequest(client.client_id, client.secret, undefined, { timestamp: Math.floor(Date.now() / 1000) - 301 }),
    401,
    'invalid_timestamp',
  )
  await refusal(
    signedRequest(client.client_id, client.secret, undefined, { timestamp: Math.floor(Date.now() / 1000) + 301 }),
    401,
    'invalid_timestamp',
  )
  await refusal(
    signedRequest(client.client_id, client.secret, undefined, { path: '/api/internal/session/other' }),
    401,
    'invalid_signature',
  )

  const once = signedRequest(client.client_id, client.secret)
  t.equal((await post(once)).statusCode, 200)
  await refusal(once, 401, 'replayed_nonce')

  const changed = signedRequest(client.client_id, client.secret, { external_user_id: 'alice' })
  await refusal({ ...changed, payload: JSON.stringify({ external_user_id: 'mallory' }) }, 401, 'invalid_signature')
  // The refused request did not use its nonce up: the genuine one still goes through.
  t.equal((await post(changed)).statusCode, 200, 'a refused signature burns no nonce')

  await refusal(signedRequest(client.client_id, client.secret), 403, 'ip_not_allowed', '10.1.2.3')
  await refusal(signedRequest('wc_00000000000000000000', client.secret), 401, 'invalid_client')
  const { headers, payload } = signedRequest(client.client_id, client.secret)
  const { 'x-parley-nonce': _nonce, ...withoutNonce } = headers
  await refusal({ headers: withoutNonce, payload }, 401, 'invalid_signature')
  await refusal(signedRequest(client.client_id, client.secret, { user: 'x' }), 400, 'invalid_request')
  await refusal(
    signedRequest(client.client_id, client.secret, { external_user_id: 'a\u0007b' }),
    400,
    'invalid_request',
  )

  const disabled = await gateway.inject({
    method: 'PUT',
    url: `/api/admin/widget-clients/${client.id}`,
    headers: { authorization: `Bearer ${ROOT}` },
    payload: { enabled: false },
  })
  t.equal(disabled.statusCode, 200)
  await refusal(signedRequest(client.client_id, client.secret), 401, 'invalid_client')
})

t.test('a CIDR range admits its addresses, IPv6 too; zh-CN callers read Chinese', async t => {
  const { gateway } = await widgetGateway(t)
  const client = await createClient(gateway, { allowed_ips: ['10.20.0.0/16', '2001:db8::/32'] })
  const post = (remoteAddress: string, headers: Record<string, string> = {}) => {
    const signed = signedRequest(client.client_id, client.secret)
    return gateway.inject({
      method: 'POST',
      url: PATH,
      remoteAddress,
      payload: signed.payload,
      headers: { ...signed.headers, ...headers },
    })
  }
  t.equal((await post('10.20.3.4')).statusCode, 200)
  t.equal((await post('::ffff:10.20.3.4')).statusCode, 200, 'IPv4-mapped IPv6 is the IPv4 address')
  t.equal((await post('2001:db8:1::5')).statusCode, 200)
  t.equal((await post('10.21.0.1')).statusCode, 403)
  const chinese = await post('127.0.0.1', { 'accept-language': 'zh-CN' })
  t.equal(chinese.statusCode, 403)
  t.match(chinese.json().error.message, /不允许/)
})

t.test('a rotated secret: both verify inside the overlap, only the new one after it', async t => {
  const { gateway } = await widgetGateway(t)
  const client = await createClient(gateway)
  const rotate = async (overlap: number) => {
    const response = await gateway.inject({
      method: 'POST',
      url: `/api/admin/widget-clients/${client.id}/rotate-secret`,
      headers: { authorization: `Bearer ${ROOT}` },
      payload: { overlap_seconds: overlap },
    })
    t.equal(response.statusCode, 200, response.body)
    return response.json() as { secret: string; previous_secret_expires_at: string | null }
  }
  const post = (secret: string) =>
    gateway.inject({ method: 'POST', url: PATH, ...signedRequest(client.client_id, secret) })

  const second = await rotate(2)
  t.not(second.secret, client.secret)
  t.ok(second.previous_secret_expires_at, 'the overlap is announced')
  t.equal((await post(client.secret)).statusCode, 200, 'the old secret inside the overlap')
  t.equal((await post(second.secret)).statusCode, 200, 'the new secret')
  await new Promise(resolve => setTimeout(resolve, 2_100))
  const late = await post(client.secret)
  t.equal(late.statusCode, 401, 'the old secret after the overlap')
  t.equal(late.json().error.type, 'invalid_signature')
  t.equal((await post(second.secret)).statusCode, 200)

  const third = await rotate(0)
  t.equal(third.previous_secret_expires_at, null)
  t.equal((await post(second.secret)).statusCode, 401, 'no overlap: the old secret stops at once')
  t.equal((await post(third.secret)).statusCode, 200)
})

t.test('the auth strategy turns a session token into the widget_user principal', async t => {
  const whoami = definePlugin({
    id: 'whoami',
    version: '1.0.0',
    setup(ctx) {
      ctx.http.get('/whoami', async request => ({ principal: (await request.principal()) ?? null }))
    },
  })
  const { gateway } = await widgetGateway(t, { plugins: [whoami] })
  const client = await createClient(gateway)
  const token = await createSession(gateway, client, '+8613800000000')
  const me = await gateway.inject({ method: 'GET', url: '/whoami', headers: { authorization: `Bearer ${token}` } })
  t.same(me.json(), {
    principal: { kind: 'widget_user', clientId: client.client_id, externalId: '+8613800000000', group: 'default' },
  })
  const forged = await gateway.inject({
    method: 'GET',
    url: '/whoami',
    headers: { authorization: `Bearer pws_${'x'.repeat(43)}` },
  })
  t.equal(forged.statusCode, 401)
  t.equal(forged.json().error.type, 'invalid_session')
})
