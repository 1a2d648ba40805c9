import { setTimeout as sleep } from 'node:timers/promises'
import type { APIError } from 'openai'
import t from 'tap'
import { createTestGateway, fixtureAuth, missingService, testServices } from '@parley/core/testing'
import coze from '@parley/coze'
import {
  APP_ID,
  appKeys,
  assertNoSecrets,
  bootCoze,
  cozeChannel,
  KEY_ID,
  mockCoze,
  pat,
  pemLines,
  ROOT,
  sdk,
  until,
} from './helpers.js'
import type { OAuthApp } from '../src/settings.js'
import { appFingerprint } from '../src/token-seal.js'
import { JWT_BEARER } from './mock-coze.js'

// OAuth JWT against the mock, which checks the signature with the app's public key and every
// claim: one exchange for many calls, a new token before expiry, the PAT when the exchange
// fails, tokens Coze stops taking, several instances sharing one token, and no secret anywhere.

const keys = appKeys()
const ASK = { model: 'coze-bot', messages: [{ role: 'user' as const, content: 'Hi' }] }

t.test('one exchange for many concurrent calls: a JWT Coze accepts, the token cached and reused', async t => {
  const mock = await mockCoze(t, keys, { exchangeDelayMs: 150 })
  const { gateway, logs } = await bootCoze(t)
  await cozeChannel(gateway, mock, { privatePem: keys.privatePem })
  const client = sdk(gateway, 'token-default')

  const answers = await Promise.all(Array.from({ length: 8 }, () => client.chat.completions.create(ASK)))
  t.same(
    answers.map(answer => answer.choices[0]?.message.content),
    Array(8).fill('ok'),
    'every call answered',
  )
  t.equal(mock.exchanges.length, 1, 'one exchange served all eight concurrent calls')
  const exchange = mock.exchanges[0]
  t.match(
    exchange,
    {
      ok: true,
      header: { alg: 'RS256', typ: 'JWT', kid: KEY_ID },
      claims: { iss: APP_ID, aud: mock.host },
      body: { grant_type: JWT_BEARER, duration_seconds: 3600 },
    },
    'the mock verified the signature and every claim',
  )
  const claims = exchange?.claims as { iat: number; exp: number; jti: string }
  t.equal(claims.exp - claims.iat, 600, 'a short-lived JWT')
  t.ok(Math.abs(claims.iat - Date.now() / 1000) < 5, 'issued now')
  t.ok(claims.jti.length >= 32, 'with a long random jti')
  t.same(new Set(mock.chats.map(chat => chat.token)), new Set([exchange?.token]), 'every chat used the access token')

  for (let i = 0; i < 3; i++) await client.chat.completions.create(ASK)
  t.equal(mock.exchanges.length, 1, 'later calls reuse the cached token')
  t.equal(mock.chats.length, 11)

  const sealed = await gateway.kv.get(`coze:token:${appFingerprint(mock.url, app(mock.host))}`)
  t.ok(sealed && !sealed.includes(exchange?.token ?? '?'), 'the cached token is sealed in the KV store')
  const secrets = [...pemLines(keys.privatePem), exchange?.token ?? '?', exchange?.jwt ?? '?']
  assertNoSecrets(
    t,
    logs,
    answers.map(answer => JSON.stringify(answer)),
    secrets,
  )
})

t.test('a new token shortly before the old one expires, with the lifetime the channel asks for', async t => {
  const mock = await mockCoze(t, keys, { tokenLifetimeSeconds: 3 })
  const { gateway } = await bootCoze(t)
  await cozeChannel(gateway, mock, { privatePem: keys.privatePem, settings: { token_duration_seconds: 120 } })
  const client = sdk(gateway, 'token-default')

  await client.chat.completions.create(ASK)
  t.equal(mock.exchanges.length, 1)
  t.match(mock.exchanges[0]?.body, { duration_seconds: 120 }, 'the lifetime the channel asks for')
  const expiresAt = (mock.exchanges[0]?.expiresIn ?? 0) * 1000
  t.ok(expiresAt > Date.now() && expiresAt <= Date.now() + 3000, 'Coze answered expires_in as a UNIX time')
  await client.chat.completions.create(ASK)
  t.equal(mock.exchanges.length, 1, 'still fresh: reused')

  await sleep(Math.max(0, expiresAt - Date.now()) + 50)
  await client.chat.completions.create(ASK)
  t.equal(mock.exchanges.length, 2, 'a new token once the old one is due')
  t.not(mock.exchanges[1]?.token, mock.exchanges[0]?.token)
  t.same(
    mock.chats.map(chat => chat.status),
    [200, 200, 200],
    'no chat ever went out with an expired token',
  )
  t.equal(mock.chats[2]?.token, mock.exchanges[1]?.token)
})

t.test('the exchange fails: the PAT serves, with one warning, until OAuth is tried again', async t => {
  const key = pat()
  const mock = await mockCoze(t, keys, { pats: [key] })
  const { gateway, logs } = await bootCoze(t, { cozeOptions: { oauth_retry_after_ms: 1000 } })
  await cozeChannel(gateway, mock, { privatePem: keys.privatePem, keys: [key] })
  const client = sdk(gateway, 'token-default')
  mock.failExchanges(1, { status: 401, error_code: 'invalid_client', error_message: 'the app is deactivated' })

  for (let i = 0; i < 3; i++) t.equal((await client.chat.completions.create(ASK)).choices[0]?.message.content, 'ok')
  t.equal(mock.exchanges.length, 1, 'one failed exchange, then a pause rather than one attempt per call')
  t.same(
    mock.chats.map(chat => chat.token),
    [key, key, key],
    'the PAT served meanwhile',
  )
  const warnings = logs.lines.filter(line =>
    line.includes("Coze OAuth token exchange failed; using the channel's personal access token"),
  )
  t.equal(warnings.length, 1, 'said once in the log')
  t.match(warnings[0], /"level":40/)
  t.match(warnings[0], /HTTP 401 invalid_client/, 'with the reason')

  await sleep(1050)
  await client.chat.completions.create(ASK)
  t.equal(mock.exchanges.length, 2, 'after the pause, OAuth is tried again')
  t.equal(mock.chats.at(-1)?.token, mock.exchanges[1]?.token, 'and used once it works')
  assertNoSecrets(
    t,
    logs,
    [],
    [key, ...pemLines(keys.privatePem), mock.exchanges[1]?.token ?? '?', ...mock.exchanges.map(e => e.jwt ?? '?')],
  )
})

t.test('keys that cannot work: a wrong private key, an unreadable one, incomplete settings; the PAT alone', async t => {
  const key = pat()
  const mock = await mockCoze(t, keys, { pats: [key] })
  const { gateway, logs } = await bootCoze(t)
  const client = sdk(gateway, 'token-default')
  const stranger = appKeys()
  await cozeChannel(gateway, mock, {
    name: 'wrong-key',
    models: ['wrong'],
    bots: { wrong: '7000000000000000001' },
    privatePem: stranger.privatePem,
    keys: [key],
  })
  await cozeChannel(gateway, mock, {
    name: 'unreadable',
    models: ['unreadable'],
    bots: { unreadable: '7000000000000000002' },
    privatePem: 'not a key at all',
    keys: [key],
  })
  await cozeChannel(gateway, mock, {
    name: 'incomplete',
    models: ['incomplete'],
    bots: { incomplete: '7000000000000000003' },
    settings: { oauth_app_id: APP_ID },
    keys: [key],
  })
  await cozeChannel(gateway, mock, {
    name: 'pat-only',
    models: ['pat-only'],
    bots: { 'pat-only': '7000000000000000004' },
    keys: [key],
  })

  for (const model of ['wrong', 'unreadable', 'incomplete', 'pat-only']) {
    t.equal(
      (await client.chat.completions.create({ ...ASK, model })).choices[0]?.message.content,
      'ok',
      `${model}: answered with the PAT`,
    )
  }
  t.same(
    mock.chats.map(chat => chat.token),
    [key, key, key, key],
  )
  t.match(
    mock.exchanges,
    [{ ok: false, problem: 'bad signature' }],
    'only the wrong key reached Coze, which refused its signature',
  )
  t.ok(
    logs.lines.some(line => line.includes('not a readable PEM private key')),
    'the unreadable key is explained',
  )
  t.ok(
    logs.lines.some(line => line.includes('OAuth settings are incomplete')),
    'so are incomplete settings',
  )
  assertNoSecrets(t, logs, [], [key, ...pemLines(stranger.privatePem), 'not a key at all'])
})

t.test(
  'without a PAT: a refused exchange fails the call; a token Coze stops taking is dropped for a new one',
  async t => {
    const mock = await mockCoze(t, keys)
    const { gateway, logs } = await bootCoze(t, { cozeOptions: { oauth_retry_after_ms: 0 } })
    await cozeChannel(gateway, mock, { privatePem: keys.privatePem })
    const client = sdk(gateway, 'token-default')

    mock.failExchanges(1)
    const refused = (await client.chat.completions.create(ASK).catch((e: unknown) => e)) as APIError
    t.equal(refused.status, 502)
    t.match(refused.error, { type: 'upstream_error', message: "The upstream refused this channel's credentials" })
    t.equal(mock.chats.length, 0)

    await client.chat.completions.create(ASK)
    const first = mock.exchanges.at(-1)?.token as string
    mock.revoke(first)
    const revoked = (await client.chat.completions.create(ASK).catch((e: unknown) => e)) as APIError
    t.equal(revoked.status, 502, 'the call that met the revoked token fails (nothing to fall back on)')
    t.equal(
      (await client.chat.completions.create(ASK)).choices[0]?.message.content,
      'ok',
      'the next one exchanges anew',
    )
    const second = mock.exchanges.at(-1)?.token
    t.not(second, first)
    t.same(
      mock.chats.map(chat => [chat.token === first ? 'first' : 'second', chat.code]),
      [
        ['first', 0],
        ['first', 4100],
        ['second', 0],
      ],
    )
    const shown = [JSON.stringify(refused.error), JSON.stringify(revoked.error)]
    assertNoSecrets(t, logs, shown, [
      first,
      second ?? '?',
      ...pemLines(keys.privatePem),
      ...mock.exchanges.map(e => e.jwt ?? '?'),
    ])
  },
)

t.test('with a PAT: a token Coze stops taking is dropped and the same call retries with the PAT', async t => {
  const key = pat()
  const mock = await mockCoze(t, keys, { pats: [key] })
  const { gateway, logs } = await bootCoze(t)
  await cozeChannel(gateway, mock, { privatePem: keys.privatePem, keys: [key] })
  const client = sdk(gateway, 'token-default')
  await client.chat.completions.create(ASK)
  const token = mock.exchanges[0]?.token as string
  mock.revoke(token)
  t.equal((await client.chat.completions.create(ASK)).choices[0]?.message.content, 'ok')
  t.same(
    mock.chats.map(chat => chat.token),
    [token, token, key],
    'refused, then the PAT within the same call',
  )
  t.ok(
    logs.lines.some(line =>
      line.includes("Coze refused the OAuth access token; retrying with the channel's personal access token"),
    ),
  )
  await client.chat.completions.create(ASK)
  t.equal(mock.exchanges.length, 2, 'the next call gets a new token')
  t.equal(mock.chats.at(-1)?.token, mock.exchanges[1]?.token)
})

t.test('the channel never shows the private key; a nested oauth object is refused', async t => {
  const mock = await mockCoze(t, keys)
  const { gateway, logs } = await bootCoze(t)
  const id = await cozeChannel(gateway, mock, { privatePem: keys.privatePem })
  const view = await gateway.inject({
    method: 'GET',
    url: `/api/admin/channels/${id}`,
    headers: { authorization: `Bearer ${ROOT}` },
  })
  t.equal(view.statusCode, 200)
  t.match(view.json(), {
    provider: 'coze',
    settings: {
      bots: { 'coze-bot': '7439630213807570979' },
      oauth_app_id: APP_ID,
      oauth_key_id: KEY_ID,
      oauth_private_key: { hint: /…/ },
      token_duration_seconds: 3600,
      system_messages: 'user',
    },
  })
  t.notOk(
    pemLines(keys.privatePem).some(line => view.body.includes(line)),
    'no part of the key in the answer',
  )

  const kept = await gateway.inject({
    method: 'PUT',
    url: `/api/admin/channels/${id}`,
    headers: { authorization: `Bearer ${ROOT}` },
    payload: { settings: { bots: { 'coze-bot': '7439630213807570979' }, oauth_app_id: APP_ID, oauth_key_id: KEY_ID } },
  })
  t.equal(kept.statusCode, 200, 'an update without the key keeps it')
  await until(
    () =>
      gateway.catalog
        .current()
        .channels.some(channel => channel.id === id && channel.settings.oauth_private_key === keys.privatePem),
    'the kept key in the snapshot',
  )
  await sdk(gateway, 'token-default').chat.completions.create(ASK)
  t.match(mock.exchanges, [{ ok: true }], 'and it still signs')

  const nested = await gateway.inject({
    method: 'POST',
    url: '/api/admin/channels',
    headers: { authorization: `Bearer ${ROOT}` },
    payload: {
      name: 'nested',
      provider: 'coze',
      base_url: mock.url,
      keys: [],
      models: ['x'],
      settings: { bots: {}, oauth: { app_id: APP_ID, key_id: KEY_ID, private_key: keys.privatePem } },
    },
  })
  t.equal(nested.statusCode, 400, 'a nested oauth object could not be sealed: refused, not stored in the clear')
  t.notOk(
    pemLines(keys.privatePem).some(line => nested.body.includes(line)),
    'and the refusal does not echo the key',
  )
  t.same(
    pemLines(keys.privatePem).flatMap(line => logs.containing(line)),
    [],
    'nor does any log line',
  )
})

t.test('two instances share one token through Redis', { skip: missingService('redis') }, async t => {
  const mock = await mockCoze(t, keys, { exchangeDelayMs: 200 })
  const plugins = [fixtureAuth, coze]
  const a = await createTestGateway({ plugins, listen: true, redisUrl: testServices.redisUrl })
  const b = await createTestGateway({ plugins, listen: true, sharedWith: a })
  t.teardown(async () => {
    await b.close()
    await a.close()
  })
  const id = await cozeChannel(a, mock, { privatePem: keys.privatePem })
  await until(
    () => b.catalog.current().channels.some(channel => channel.id === id),
    'the channel on the second instance',
  )
  const calls = [a, b, a, b, a, b].map(gateway => sdk(gateway, 'token-default').chat.completions.create(ASK))
  t.equal((await Promise.all(calls)).length, 6)
  t.equal(mock.exchanges.length, 1, 'one exchange for both instances')
  t.same(new Set(mock.chats.map(chat => chat.token)), new Set([mock.exchanges[0]?.token]))
  const sealed = await b.kv.get(`coze:token:${appFingerprint(mock.url, app(mock.host))}`)
  t.ok(sealed, 'the token is in the shared KV')
  t.notOk(sealed?.includes(mock.exchanges[0]?.token ?? '?'), 'sealed, not in the clear')
})

/** The channel's OAuth app as the provider reads it, to find its cache entry. */
function app(host: string): OAuthApp {
  return { appId: APP_ID, keyId: KEY_ID, privateKey: keys.privatePem, audience: host, durationSeconds: 3600 }
}
