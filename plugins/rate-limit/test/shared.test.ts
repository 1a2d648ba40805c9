/**
 * Two gateway instances on one Redis enforce one limit together, atomically: of M concurrent
 * calls spread over both, exactly N pass, for a caller and for a channel.
 */
import t from 'tap'
import { missingService, testServices } from '@parley/core/testing'
import { bootGateway, call, channel, configure, until } from './helpers.js'

t.test(
  'two instances sharing Redis: exactly N of M concurrent calls pass',
  { skip: missingService('redis') },
  async t => {
    const a = await bootGateway(t, { redisUrl: testServices.redisUrl, keepOpen: true })
    const b = await bootGateway(t, { sharedWith: a.gateway, keepOpen: true })
    t.teardown(async () => {
      await b.gateway.close()
      await a.gateway.close()
    })
    await channel(a.gateway, 'main')
    await until(() => b.gateway.catalog.current().channels.length === 1, 'the channel on instance B')

    await configure(a.gateway, { user_rpm: 7 })
    await until(() => b.gateway.settings.get('user_rpm') === 7, 'user_rpm on instance B')
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => call(i % 2 === 0 ? a.gateway : b.gateway, { token: 'user-2' })),
    )
    // Each instance gets 15 calls: counting per instance would let 14 through.
    t.equal(answers.filter(r => r.statusCode === 200).length, 7, 'exactly user_rpm calls pass')
    t.equal(answers.filter(r => r.statusCode === 429).length, 23, 'every other call is refused')
    const remaining = answers.filter(r => r.statusCode === 200).map(r => Number(r.headers['x-ratelimit-remaining']))
    t.same(
      remaining.sort((x, y) => x - y),
      [0, 1, 2, 3, 4, 5, 6],
      'each call that passed saw its own count: the counting is atomic',
    )
  },
)

t.test('two instances sharing Redis: a channel limit holds across both', { skip: missingService('redis') }, async t => {
  const a = await bootGateway(t, {
    redisUrl: testServices.redisUrl,
    keepOpen: true,
    config: { settings: { user_rpm: 0 } },
  })
  const b = await bootGateway(t, { sharedWith: a.gateway, keepOpen: true })
  t.teardown(async () => {
    await b.gateway.close()
    await a.gateway.close()
  })
  await channel(a.gateway, 'narrow', { rpm_limit: 5 })
  await until(() => b.gateway.catalog.current().channels.length === 1, 'the channel on instance B')
  const answers = await Promise.all(
    Array.from({ length: 20 }, (_, i) => call(i % 2 === 0 ? a.gateway : b.gateway, { token: `user-${100 + i}` })),
  )
  t.equal(answers.filter(r => r.statusCode === 200).length, 5, 'exactly rpm_limit calls reach the channel')
  t.equal(a.provider.calls.length + b.provider.calls.length, 5)
  t.ok(answers.filter(r => r.statusCode === 429).every(r => r.json().error.type === 'rate_limit_exceeded'))
})
