import OpenAI from 'openai'
import t, { type Test } from 'tap'
import identity from '@parley/identity'
import rateLimit from '@parley/rate-limit'
import { createTestGateway, missingService, testServices, type TestGateway } from '@parley/core/testing'
import openai from '@parley/openai'
import { bootUpstream, createChannel, sdk, until } from './helpers.js'

// An API token's own restrictions (identity) decide each /v1 call made with it: models,
// addresses, expiry, the on/off switch, its quota of tokens and its RPM (rate-limit plugin).
// Real identity and rate-limit plugins, the official SDK, a mock upstream; both dialects.

const KEY = 'sk-proj-token-limits-0123456789'
const ADMIN = { username: 'admin', password: 'admin-password-for-tests' }
const MODELS = ['gpt-4o', 'gpt-4o-mini']
const ask = [{ role: 'user' as const, content: 'Hello?' }]

const dialects = [
  { name: 'sqlite', skip: false as string | false, mysqlUrl: undefined as string | undefined },
  { name: 'mysql', skip: missingService('mysql'), mysqlUrl: testServices.mysqlUrl },
]

interface User {
  readonly session: string
  readonly tokenId: number
  readonly token: string
}

async function member(gateway: TestGateway, name: string, settings: Record<string, unknown> = {}): Promise<User> {
  const password = 'staple-battery-for-tests'
  const registered = await gateway.inject({
    method: 'POST',
    url: '/api/auth/register',
    payload: { email: `${name}@example.com`, username: name, password, password_confirm: password },
  })
  if (registered.statusCode !== 201) throw new Error(`register ${name}: ${registered.body}`)
  const session = (registered.json() as { access_token: string }).access_token
  const created = await gateway.inject({
    method: 'POST',
    url: '/api/tokens',
    headers: { authorization: `Bearer ${session}` },
    payload: { name: 'scripts', ...settings },
  })
  if (created.statusCode !== 201) throw new Error(`token of ${name}: ${created.body}`)
  const { id, token } = created.json() as { id: number; token: string }
  return { session, tokenId: id, token }
}

async function change(gateway: TestGateway, user: User, payload: Record<string, unknown>) {
  return gateway.inject({
    method: 'PATCH',
    url: `/api/tokens/${user.tokenId}`,
    headers: { authorization: `Bearer ${user.session}` },
    payload,
  })
}

async function listed(gateway: TestGateway, user: User): Promise<Record<string, unknown>> {
  const response = await gateway.inject({
    method: 'GET',
    url: '/api/tokens',
    headers: { authorization: `Bearer ${user.session}` },
  })
  const items = (response.json() as { items: Array<Record<string, unknown>> }).items
  return items.find(item => item.id === user.tokenId) ?? {}
}

/** The APIError an SDK call fails with (the test fails if it succeeds). */
async function refusal(t: Test, promise: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await promise
  } catch (error) {
    if (error instanceof OpenAI.APIError) return error
    throw error
  }
  t.fail('the call was not refused')
  throw new Error('not refused')
}

const chat = (gateway: TestGateway, token: string, model = 'gpt-4o', headers: Record<string, string> = {}) =>
  sdk(gateway, token, { headers }).chat.completions.create({ model, messages: ask })

for (const { name: dialect, skip, mysqlUrl } of dialects) {
  t.test(`${dialect}: an API token's restrictions decide its calls`, { skip }, async t => {
    const upstream = await bootUpstream(t, { keys: [KEY], defaultBehaviour: { usage: { prompt: 5, completion: 2 } } })
    const gateway = await createTestGateway({
      plugins: [identity, openai, rateLimit],
      listen: true,
      config: { admin: ADMIN },
      mysqlUrl,
    })
    t.teardown(gateway.close)
    await gateway.settings.set('identity.register_per_hour', 0)
    const login = await gateway.inject({ method: 'POST', url: '/api/auth/admin/login', payload: ADMIN })
    const admin = (login.json() as { access_token: string }).access_token
    await createChannel(gateway, { name: 'main', base_url: upstream.url, keys: [KEY], models: MODELS }, admin)

    t.test('a token without restrictions calls every model, from anywhere', async t => {
      const plain = await member(gateway, 'plain')
      t.equal((await chat(gateway, plain.token)).choices[0]?.message.content, 'ok')
      t.match(await listed(gateway, plain), {
        enabled: true,
        expires_at: null,
        models: null,
        allowed_ips: null,
        rpm: null,
        quota: null,
        used_tokens: 0,
      })
    })

    t.test('models: only its own list, listed and called', async t => {
      const user = await member(gateway, 'modeller', { models: ['gpt-4o-mini', ' gpt-4o-mini '] })
      t.same((await listed(gateway, user)).models, ['gpt-4o-mini'], 'trimmed, without duplicates')
      const names: string[] = []
      for await (const model of sdk(gateway, user.token).models.list()) names.push(model.id)
      t.same(names, ['gpt-4o-mini'], '/v1/models lists only its models')
      t.equal((await chat(gateway, user.token, 'gpt-4o-mini')).choices[0]?.message.content, 'ok')
      const before = upstream.requests.length
      const error = await refusal(t, chat(gateway, user.token, 'gpt-4o'))
      t.equal(error.status, 403)
      t.match(error.error, { type: 'model_not_allowed', message: 'This API token may not use model gpt-4o' })
      const zh = await refusal(t, chat(gateway, user.token, 'gpt-4o', { 'accept-language': 'zh-CN' }))
      t.match(zh.error, { type: 'model_not_allowed', message: '此 API 令牌无权使用模型 gpt-4o' })
      t.equal(upstream.requests.length, before, 'no upstream request for a refused model')
    })

    t.test('addresses: a call from outside the list is refused', async t => {
      const user = await member(gateway, 'fenced', { allowed_ips: ['10.0.0.0/8', '2001:db8::/32'] })
      const error = await refusal(t, chat(gateway, user.token))
      t.equal(error.status, 403)
      t.match(error.error, { type: 'ip_not_allowed', message: /may not be used from 127\.0\.0\.1/ })
      const bad = await change(gateway, user, { allowed_ips: ['10.0.0.0/33'] })
      t.equal(bad.statusCode, 400, 'a bad range is refused')
      t.match(bad.json(), { error: { type: 'invalid_request', message: /10\.0\.0\.0\/33 is not an IP address/ } })
      t.same((await listed(gateway, user)).allowed_ips, ['10.0.0.0/8', '2001:db8::/32'], 'and changes nothing')
      t.equal((await change(gateway, user, { allowed_ips: ['127.0.0.0/8'] })).statusCode, 200)
      t.equal((await chat(gateway, user.token)).choices[0]?.message.content, 'ok', 'allowed from the new range')
    })

    t.test('the switch: off refuses every call, on again works', async t => {
      const user = await member(gateway, 'switcher')
      t.equal((await change(gateway, user, { enabled: false })).statusCode, 200)
      const error = await refusal(t, chat(gateway, user.token))
      t.equal(error.status, 403)
      t.match(error.error, { type: 'api_token_disabled' })
      t.equal((await change(gateway, user, { enabled: true })).statusCode, 200)
      t.equal((await chat(gateway, user.token)).choices[0]?.message.content, 'ok')
    })

    t.test('expiry: refused from the moment it passes; a past date cannot be set', async t => {
      const user = await member(gateway, 'expiring')
      const past = await change(gateway, user, { expires_at: new Date(Date.now() - 1000).toISOString() })
      t.equal(past.statusCode, 400)
      t.match(past.json(), { error: { type: 'invalid_request' } })
      const soon = new Date(Date.now() + 1500)
      t.equal((await change(gateway, user, { expires_at: soon.toISOString() })).statusCode, 200)
      t.equal((await chat(gateway, user.token)).choices[0]?.message.content, 'ok', 'works until then')
      await new Promise(resolve => setTimeout(resolve, Math.max(0, soon.getTime() - Date.now() + 50)))
      const error = await refusal(t, chat(gateway, user.token))
      t.equal(error.status, 403)
      t.match(error.error, { type: 'api_token_expired' })
      t.equal((await change(gateway, user, { expires_at: null })).statusCode, 200, 'null: never expires')
      t.equal((await chat(gateway, user.token)).choices[0]?.message.content, 'ok')
    })

    t.test('quota: counted from each call usage, refused once used up', async t => {
      const user = await member(gateway, 'metered', { quota: 10 })
      await chat(gateway, user.token) // 7 tokens
      await chat(gateway, user.token) // 14: over, but it was allowed when it began
      const error = await refusal(t, chat(gateway, user.token))
      t.equal(error.status, 403)
      t.match(error.error, { type: 'token_quota_exhausted', message: 'This API token used its quota of 10 tokens' })
      await until(async () => (await listed(gateway, user)).used_tokens === 14)
      t.equal((await listed(gateway, user)).used_tokens, 14, 'the row counts the usage figures')
      t.equal((await change(gateway, user, { quota: 100 })).statusCode, 200)
      t.equal((await chat(gateway, user.token)).choices[0]?.message.content, 'ok', 'a larger quota lets it call')
    })

    t.test('quota: used_tokens 0 starts the count again; no other value is taken', async t => {
      const user = await member(gateway, 'monthly', { quota: 10 })
      await chat(gateway, user.token)
      await chat(gateway, user.token)
      t.equal((await refusal(t, chat(gateway, user.token))).status, 403, 'used up')
      const reset = await change(gateway, user, { used_tokens: 0 })
      t.equal(reset.statusCode, 200)
      t.match(reset.json(), { quota: 10, used_tokens: 0 }, 'the answer says 0, what this instance counted included')
      t.equal((await listed(gateway, user)).used_tokens, 0)
      t.equal((await chat(gateway, user.token)).choices[0]?.message.content, 'ok', 'it calls again')
      await until(async () => (await listed(gateway, user)).used_tokens === 7)
      for (const used_tokens of [5, -1, '0']) {
        const refused = await change(gateway, user, { used_tokens })
        t.equal(refused.statusCode, 400, `used_tokens ${JSON.stringify(used_tokens)}`)
      }
      t.equal((await listed(gateway, user)).used_tokens, 7, 'a refused change changes nothing')
    })

    t.test("rpm: the token's own limit, with the rate-limit plugin's message", async t => {
      const user = await member(gateway, 'hasty', { rpm: 2 })
      await chat(gateway, user.token)
      await chat(gateway, user.token)
      const error = await refusal(t, chat(gateway, user.token))
      t.equal(error.status, 429)
      t.match(error.error, { type: 'rate_limit_exceeded', message: /this API token may send 2 requests per minute/ })
    })

    t.test("another user's token: 404 and unchanged", async t => {
      const owner = await member(gateway, 'owner')
      const thief = await member(gateway, 'thief')
      const response = await gateway.inject({
        method: 'PATCH',
        url: `/api/tokens/${owner.tokenId}`,
        headers: { authorization: `Bearer ${thief.session}` },
        payload: { enabled: false, models: [] },
      })
      t.equal(response.statusCode, 404)
      t.match(await listed(gateway, owner), { enabled: true, models: null })
      const chatNamed = await gateway.inject({
        method: 'POST',
        url: '/api/tokens',
        headers: { authorization: `Bearer ${thief.session}` },
        payload: { name: 'chat', models: [] },
      })
      t.equal(chatNamed.statusCode, 409, "the portal's chat token is made by the portal only")
      t.match(chatNamed.json(), { error: { type: 'token_protected' } })
      t.equal((await chat(gateway, owner.token)).choices[0]?.message.content, 'ok')
    })
  })
}
