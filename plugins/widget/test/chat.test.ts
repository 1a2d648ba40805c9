import t from 'tap'
import { usageRows, waitForRows } from '@parley/core/testing'
import { createClient, createSession, readEvents, textOf, widgetGateway } from './helpers.js'

/** Widget chat: SSE with answer ids, the answer going on without its connection, resumes, owners. */

const WORDS = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu'

t.test('an answer streams with ids; cut mid-answer, it completes and a resume gets the rest exactly', async t => {
  const { gateway, upstream } = await widgetGateway(t, { listen: true })
  const client = await createClient(gateway)
  const token = await createSession(gateway, client)
  upstream.reply({ text: WORDS, chunkDelayMs: 40 })
  const abort = new AbortController()
  const response = await fetch(`${gateway.url}/api/widget/chat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'Say the Greek letters' }] }),
    signal: abort.signal,
  })
  t.equal(response.status, 200)
  const answerId = response.headers.get('x-parley-answer-id') as string
  t.match(answerId, /^[0-9a-f-]{36}$/)
  const first = await readEvents(response, { count: 3, abort })
  t.same(
    first.map(event => event.id),
    [1, 2, 3].map(n => `${answerId}:${n}`),
  )
  // The browser is gone; the upstream call goes on (and is never repeated).
  const rows = await waitForRows(gateway, 1, 5_000)
  t.equal(rows[0]?.status, 'success', 'the answer completed without its connection')
  t.equal(upstream.requests.length, 1, 'one upstream call')

  const resumed = await fetch(`${gateway.url}/api/widget/chat/${answerId}/events`, {
    headers: { authorization: `Bearer ${token}`, 'last-event-id': first.at(-1)?.id as string },
  })
  t.equal(resumed.status, 200)
  const rest = await readEvents(resumed)
  t.equal(rest[0]?.id, `${answerId}:4`, 'the replay starts right after the last event seen')
  t.equal(rest.at(-1)?.data, '[DONE]')
  t.equal(textOf([...first, ...rest]).trim(), WORDS, 'no text missing, none twice')
  t.same(
    [...first, ...rest].map(event => event.id),
    [...first, ...rest].map((_, index) => `${answerId}:${index + 1}`),
  )

  const again = await fetch(`${gateway.url}/api/widget/chat/${answerId}/events`, {
    headers: { authorization: `Bearer ${token}`, 'last-event-id': rest.at(-1)?.id as string },
  })
  t.same(await readEvents(again), [], 'an ended answer ends at once')
  t.equal((await usageRows(gateway)).length, 1)
})

t.test('a resume while the answer runs follows it live to the end', async t => {
  const { gateway, upstream } = await widgetGateway(t, { listen: true })
  const client = await createClient(gateway)
  const token = await createSession(gateway, client)
  upstream.reply({ text: WORDS, chunkDelayMs: 60 })
  const abort = new AbortController()
  const response = await fetch(`${gateway.url}/api/widget/chat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'go' }] }),
    signal: abort.signal,
  })
  const answerId = response.headers.get('x-parley-answer-id') as string
  const first = await readEvents(response, { count: 2, abort })
  const resumed = await fetch(`${gateway.url}/api/widget/chat/${answerId}/events`, {
    headers: { authorization: `Bearer ${token}`, 'last-event-id': first.at(-1)?.id as string },
  })
  const rest = await readEvents(resumed)
  t.ok(rest.length > 5, 'the live part came through the resume')
  t.equal(textOf([...first, ...rest]).trim(), WORDS)
  t.equal(upstream.requests.length, 1)
})

t.test("another user's answer, or another client's, is not found; no session is a 401", async t => {
  const { gateway, upstream } = await widgetGateway(t, { listen: true })
  const client = await createClient(gateway)
  const other = await createClient(gateway, { name: 'Other shop' })
  const alice = await createSession(gateway, client, 'alice')
  const bob = await createSession(gateway, client, 'bob')
  const aliceElsewhere = await createSession(gateway, other, 'alice')
  upstream.reply({ text: 'private words' })
  const response = await fetch(`${gateway.url}/api/widget/chat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'secret?' }] }),
  })
  const answerId = response.headers.get('x-parley-answer-id') as string
  await readEvents(response)
  for (const token of [bob, aliceElsewhere]) {
    const stolen = await fetch(`${gateway.url}/api/widget/chat/${answerId}/events`, {
      headers: { authorization: `Bearer ${token}` },
    })
    t.equal(stolen.status, 404)
    t.equal(((await stolen.json()) as { error: { type: string } }).error.type, 'not_found')
  }
  const anonymous = await fetch(`${gateway.url}/api/widget/chat/${answerId}/events`)
  t.equal(anonymous.status, 401)
  const forged = await fetch(`${gateway.url}/api/widget/chat`, {
    method: 'POST',
    headers: { authorization: `Bearer pws_${'A'.repeat(43)}`, 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
  })
  t.equal(forged.status, 401)
  t.equal(((await forged.json()) as { error: { type: string } }).error.type, 'invalid_session')
  const mine = await fetch(`${gateway.url}/api/widget/chat/${answerId}/events`, {
    headers: { authorization: `Bearer ${alice}` },
  })
  t.match(textOf(await readEvents(mine)), 'private words', 'the owner replays it from the start')
})
