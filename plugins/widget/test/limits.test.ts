import t from 'tap'
import rateLimit from '@parley/rate-limit'
import { createClient, createSession, readEvents, widgetGateway } from './helpers.js'

/** A widget user's limits: the client's RPM, `rate-limit.widget_rpm` (per external user), `widget.ip_rpm` (per address). */

t.test('each limit refuses with 429, Retry-After and a message in the user language', async t => {
  const { gateway } = await widgetGateway(t, { listen: true, plugins: [rateLimit] })
  const ask = async (token: string, lang = 'en') => {
    const response = await fetch(`${gateway.url}/api/widget/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'accept-language': lang },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
    })
    if (response.status === 200) await readEvents(response)
    return response
  }
  const refused = async (response: Response, pattern: RegExp) => {
    t.equal(response.status, 429)
    t.ok(Number(response.headers.get('retry-after')) > 0, 'Retry-After')
    const body = (await response.json()) as { error: { type: string; message: string } }
    t.equal(body.error.type, 'rate_limit_exceeded')
    t.match(body.error.message, pattern)
  }

  // The client's own RPM, per external user: another user of the client is not counted.
  const strict = await createClient(gateway, { name: 'Strict', rpm: 1 })
  const alice = await createSession(gateway, strict, 'alice')
  t.equal((await ask(alice)).status, 200)
  await refused(await ask(alice, 'zh-CN'), /此对话每分钟最多 1 条消息/)
  t.equal((await ask(await createSession(gateway, strict, 'bob'))).status, 200, 'bob has his own count')

  // rate-limit.widget_rpm applies to every client's users.
  await gateway.settings.set('rate-limit.widget_rpm', 2)
  const open = await createClient(gateway, { name: 'Open' })
  const carol = await createSession(gateway, open, 'carol')
  t.equal((await ask(carol)).status, 200)
  t.equal((await ask(carol)).status, 200)
  await refused(await ask(carol), /2 messages per minute/)

  // widget.ip_rpm counts every widget user of one address together.
  await gateway.settings.set('rate-limit.widget_rpm', 0)
  await gateway.settings.set('widget.ip_rpm', 6)
  const users = await Promise.all(['d1', 'd2', 'd3'].map(id => createSession(gateway, open, id)))
  const statuses: number[] = []
  for (const token of [...users, ...users]) statuses.push((await ask(token)).status)
  t.ok(statuses.includes(429), `refused once the address is over its limit: ${statuses.join(',')}`)
  await refused(await ask(users[0] as string), /from your network/)
})
