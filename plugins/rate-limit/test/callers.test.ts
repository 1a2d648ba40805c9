/**
 * Caller limits through the data plane: guests per address, users per user (with their group's
 * override), API tokens per token, widget users per external id; the headers of answers and
 * refusals, live setting changes and the caller's language. One memory-backed gateway each.
 */
import t from 'tap'
import { bootGateway, call, channel, configure, statuses, times } from './helpers.js'

t.test('guests are limited per address at guest_rpm; the answers carry the remaining count', async t => {
  const { gateway, provider } = await bootGateway(t, { config: { settings: { guest_rpm: 3 } } })
  await channel(gateway, 'main')

  // The window opens with the first call; a loaded machine may take seconds to reach the checks.
  const opened = Date.now()
  const rest = () => 59 - Math.ceil((Date.now() - opened) / 1000)
  const answers = []
  for (let i = 0; i < 3; i++) answers.push(await call(gateway, { ip: '203.0.113.7' }))
  t.same(
    answers.map(a => a.statusCode),
    [200, 200, 200],
    'exactly the limit passes',
  )
  t.same(
    answers.map(a => a.headers['x-ratelimit-limit']),
    ['3', '3', '3'],
  )
  t.same(
    answers.map(a => a.headers['x-ratelimit-remaining']),
    ['2', '1', '0'],
  )
  const reset = Number(answers[2]?.headers['x-ratelimit-reset'])
  t.ok(reset >= rest() && reset <= 60, `the window ends within a minute (X-RateLimit-Reset ${reset})`)

  const refused = await call(gateway, { ip: '203.0.113.7' })
  t.equal(refused.statusCode, 429, 'the next call is refused')
  const body = refused.json()
  t.equal(body.error.type, 'rate_limit_exceeded')
  const retryAfter = Number(refused.headers['retry-after'])
  t.ok(retryAfter >= rest() && retryAfter <= 60, `Retry-After is the rest of the window (${retryAfter} s)`)
  t.equal(body.error.retry_after, retryAfter, 'the body says the same as the header')
  t.equal(refused.headers['x-ratelimit-limit'], '3')
  t.equal(refused.headers['x-ratelimit-remaining'], '0')
  t.equal(refused.headers['x-ratelimit-reset'], String(retryAfter))
  t.equal(provider.calls.length, 3, 'a refused caller reaches no provider')

  t.same(await statuses(gateway, 3, { ip: '203.0.113.8' }), [200, 200, 200], 'another address has its own count')
  t.same(await statuses(gateway, 1, { ip: '::ffff:203.0.113.8' }), [429], 'an IPv4-mapped address is that IPv4 address')
  t.same(await statuses(gateway, 3, { ip: '2001:db8:1:2::a' }), [200, 200, 200])
  t.same(await statuses(gateway, 1, { ip: '2001:db8:1:2:ffff::b' }), [429], 'IPv6 addresses count by their /64')
  t.same(await statuses(gateway, 1, { ip: '2001:db8:1:3::a' }), [200], 'the next /64 is another caller')
  const metrics = (await gateway.inject({ method: 'GET', url: '/metrics' })).body
  t.match(metrics, /^parley_rate_limit_refusals_total\{kind="guest"\} 3$/m, 'refusals are counted by kind')
  t.match(
    metrics,
    /^parley_rate_limit_degraded 0$/m,
    'without Redis nothing is degraded: per-instance limits are the setup',
  )
})

t.test('users are limited per user at user_rpm; a group RPM wins over it', async t => {
  const { gateway } = await bootGateway(t, { config: { settings: { user_rpm: 2 } } })
  await channel(gateway, 'main')
  t.same(await statuses(gateway, 3, { token: 'user-2' }), [200, 200, 429])
  t.same(await statuses(gateway, 3, { token: 'user-3' }), [200, 200, 429], 'each user has their own count')
  t.same(await statuses(gateway, 5, { token: 'user-4-rpm4' }), [200, 200, 200, 200, 429], 'the group allows 4')
  const refused = await call(gateway, { token: 'user-4-rpm4' })
  t.equal(refused.headers['x-ratelimit-limit'], '4')
  t.same(await statuses(gateway, 2, { token: 'user-5-rpm1' }), [200, 429], 'a group may also allow fewer')
})

t.test("API tokens are limited per token at their user's RPM; the portal token counts as the user", async t => {
  const { gateway } = await bootGateway(t, { config: { settings: { user_rpm: 2 } } })
  await channel(gateway, 'main')
  t.same(await statuses(gateway, 3, { token: 'token-7-of-2' }), [200, 200, 429])
  t.same(
    await statuses(gateway, 3, { token: 'token-9-of-2' }),
    [200, 200, 429],
    'another token of the same user has its own count',
  )
  t.same(await statuses(gateway, 1, { token: 'user-2' }), [200], "tokens do not use up the user's own calls")
  t.same(await statuses(gateway, 2, { token: 'portal-8-of-2' }), [200, 429], "the portal token shares the user's count")
})

t.test('widget users are limited per external id at rate-limit.widget_rpm', async t => {
  const { gateway } = await bootGateway(t)
  await channel(gateway, 'main')
  t.equal(gateway.settings.get('rate-limit.widget_rpm'), 20, 'the default')
  await configure(gateway, { 'rate-limit.widget_rpm': 2 })
  t.same(await statuses(gateway, 3, { token: 'widget-shop-alice' }), [200, 200, 429])
  t.same(await statuses(gateway, 2, { token: 'widget-shop-bob' }), [200, 200], 'another external id')
  t.same(
    await statuses(gateway, 2, { token: 'widget-blog-alice' }),
    [200, 200],
    'the same external id of another widget client',
  )
})

t.test('limits follow the settings live: raised, lowered, 0 for unlimited', async t => {
  const { gateway } = await bootGateway(t, { config: { settings: { user_rpm: 2, guest_rpm: 1 } } })
  await channel(gateway, 'main')
  t.same(await statuses(gateway, 3, { token: 'user-2' }), [200, 200, 429])

  await configure(gateway, { user_rpm: 4 })
  t.same(
    await statuses(gateway, 3, { token: 'user-2' }),
    [200, 200, 429],
    'raised from 2 to 4: exactly 2 more in this window (refusals do not count)',
  )

  await gateway.settings.set('user_rpm', 0)
  const unlimited = await call(gateway, { token: 'user-2' })
  t.equal(unlimited.statusCode, 200, '0 is unlimited')
  t.equal(unlimited.headers['x-ratelimit-limit'], undefined, 'and an unlimited answer carries no limit headers')
  t.same(await statuses(gateway, 10, { token: 'user-2' }), times(10, 200))

  await configure(gateway, { user_rpm: 3 })
  t.same(
    await statuses(gateway, 1, { token: 'user-2' }),
    [429],
    'lowered below what was used in the window: refused until it ends',
  )

  t.same(await statuses(gateway, 2, { ip: '198.51.100.1' }), [200, 429], 'guest_rpm 1')
  await configure(gateway, { guest_rpm: 2 })
  t.same(await statuses(gateway, 2, { ip: '198.51.100.1' }), [200, 429], 'guest_rpm raised to 2')
})

t.test("refusals speak the caller's language (zh-CN or en, from Accept-Language)", async t => {
  const { gateway } = await bootGateway(t, { config: { settings: { user_rpm: 1, guest_rpm: 1 } } })
  await channel(gateway, 'main')
  await call(gateway, { token: 'user-2' })
  await call(gateway, { token: 'token-7-of-3' })
  await call(gateway, { ip: '192.0.2.1' })
  const message = async (language: string | undefined, token?: string) => {
    const response = await call(
      gateway,
      token ? { token, ...(language ? { language } : {}) } : { ip: '192.0.2.1', ...(language ? { language } : {}) },
    )
    t.equal(response.statusCode, 429)
    return response.json().error.message as string
  }
  t.match(
    await message('zh-CN,zh;q=0.9,en;q=0.8', 'user-2'),
    /^请求过于频繁：您的账号每分钟最多 1 次请求，请 \d+ 秒后重试$/,
  )
  t.match(
    await message('en-US,en;q=0.9', 'user-2'),
    /^Too many requests: your account may send 1 request per minute; try again in \d+ s$/,
  )
  t.match(await message(undefined, 'user-2'), /your account may send/, 'English without Accept-Language')
  t.match(
    await message('fr-FR, zh-TW;q=0.5, en;q=0.4', 'user-2'),
    /您的账号/,
    'the preferred of the two languages we speak',
  )
  t.match(await message('zh', 'token-7-of-3'), /此 API 令牌每分钟最多 1 次请求/)
  t.match(await message('en', 'token-7-of-3'), /this API token may send 1 request per minute/)
  t.match(await message('zh-CN'), /访客每个地址每分钟最多 1 次请求/)
  t.match(await message('en-GB'), /guests may send 1 request per minute from one address/)
})
