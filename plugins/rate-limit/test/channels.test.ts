/**
 * Channel limits: a channel at its rpm_limit is skipped while another can serve the model, and
 * only when none can does the caller get 429. Callers are unlimited here (user_rpm 0).
 */
import t from 'tap'
import { bootGateway, call, channel, ROOT } from './helpers.js'

t.test('a channel at its rpm_limit is skipped for another; when none can serve, 429', async t => {
  const { gateway, provider } = await bootGateway(t, { config: { settings: { user_rpm: 0 } } })
  await channel(gateway, 'busy', { rpm_limit: 2, priority: 10 })
  const spareId = await channel(gateway, 'spare', { rpm_limit: 3, priority: 0 })
  const served = async () => {
    const response = await call(gateway, { token: 'user-2' })
    return response.statusCode === 200 ? (provider.calls.at(-1)?.target.channelName ?? 'none') : response.statusCode
  }

  // The busy channel's window opens with its first call; a loaded machine may take seconds after it.
  const opened = Date.now()
  const first = []
  for (let i = 0; i < 6; i++) first.push(await served())
  t.same(
    first,
    ['busy', 'busy', 'spare', 'spare', 'spare', 429],
    'the preferred channel until its limit, then the other, then 429',
  )

  const refused = await call(gateway, { token: 'user-2' })
  t.equal(refused.statusCode, 429)
  t.equal(refused.json().error.type, 'rate_limit_exceeded')
  const retryAfter = Number(refused.headers['retry-after'])
  const rest = 59 - Math.ceil((Date.now() - opened) / 1000)
  t.ok(retryAfter >= rest && retryAfter <= 60, `Retry-After is when the first channel frees up (${retryAfter} s)`)
  t.equal(refused.json().error.retry_after, retryAfter)
  t.equal(provider.calls.length, 5, 'no provider was called for the refused calls')
  t.match(refused.json().error.message, /^Every channel serving this model is at its rate limit/)
  const chinese = await call(gateway, { token: 'user-2', language: 'zh-CN,zh;q=0.9' })
  t.equal(chinese.statusCode, 429)
  t.equal(chinese.json().error.message, '此模型的所有渠道都已达到速率限制，请稍后重试', 'in the caller’s language')
  t.equal(chinese.json().error.type, 'rate_limit_exceeded')

  // rpm_limit is read from the catalog on every call: raising it applies at once.
  const raised = await gateway.inject({
    method: 'PUT',
    url: `/api/admin/channels/${spareId}`,
    headers: { authorization: `Bearer ${ROOT}` },
    payload: { rpm_limit: 4 },
  })
  t.equal(raised.statusCode, 200, raised.body)
  const deadline = Date.now() + 3000
  while (gateway.catalog.current().channels.find(c => c.id === spareId)?.rpmLimit !== 4 && Date.now() < deadline)
    await new Promise(resolve => setTimeout(resolve, 10))
  t.same([await served(), await served()], ['spare', 429], 'exactly one more call on the raised channel')

  const unlimited = await gateway.inject({
    method: 'PUT',
    url: `/api/admin/channels/${spareId}`,
    headers: { authorization: `Bearer ${ROOT}` },
    payload: { rpm_limit: 0 },
  })
  t.equal(unlimited.statusCode, 200, unlimited.body)
  while (gateway.catalog.current().channels.find(c => c.id === spareId)?.rpmLimit !== 0 && Date.now() < deadline + 3000)
    await new Promise(resolve => setTimeout(resolve, 10))
  t.same([await served(), await served(), await served()], ['spare', 'spare', 'spare'], 'rpm_limit 0 is unlimited')
})

t.test('the caller limit is asked before the channels: a refused caller uses up no channel call', async t => {
  const { gateway, provider } = await bootGateway(t, { config: { settings: { user_rpm: 1 } } })
  await channel(gateway, 'only', { rpm_limit: 2 })
  t.equal((await call(gateway, { token: 'user-2' })).statusCode, 200)
  t.equal((await call(gateway, { token: 'user-2' })).statusCode, 429, 'user 2 is at their limit')
  t.equal(
    (await call(gateway, { token: 'user-3' })).statusCode,
    200,
    "user 2's refusal did not count against the channel",
  )
  t.equal((await call(gateway, { token: 'user-4' })).statusCode, 429, 'now the channel is at its limit')
  t.equal(provider.calls.length, 2)
})
