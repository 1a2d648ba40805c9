import t from 'tap'
import { missingService, testServices } from '@parley/core/testing'
import { createClient, readEvents, signedRequest, textOf, widgetGateway } from './helpers.js'

/**
 * Two gateway instances on one Redis (their own prefix, one database): a session made on one
 * works on the other, a nonce used on one is refused by the other, and a stream started on one
 * resumes on the other, live, with nothing lost or doubled.
 */

const WORDS = Array.from({ length: 30 }, (_, index) => `w${index}`).join(' ')

t.test('two instances share sessions, nonces and answers', { skip: missingService('redis') }, async t => {
  const a = await widgetGateway(t, { listen: true, redisUrl: testServices.redisUrl as string })
  const b = await widgetGateway(t, { listen: true, sharedWith: a.gateway, upstream: a.upstream })
  const client = await createClient(a.gateway)

  const signed = signedRequest(client.client_id, client.secret, { external_user_id: 'traveller' })
  const made = await a.gateway.inject({ method: 'POST', url: '/api/internal/session/create', ...signed })
  t.equal(made.statusCode, 200)
  const replayed = await b.gateway.inject({ method: 'POST', url: '/api/internal/session/create', ...signed })
  t.equal(replayed.statusCode, 401, 'a nonce used on A is refused by B')
  t.equal(replayed.json().error.type, 'replayed_nonce')
  const token = (made.json() as { session_token: string }).session_token

  a.upstream.reply({ text: WORDS, chunkDelayMs: 50 })
  const abort = new AbortController()
  const started = await fetch(`${b.gateway.url}/api/widget/chat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'count' }] }),
    signal: abort.signal,
  })
  t.equal(started.status, 200, 'the session made on A works on B')
  const answerId = started.headers.get('x-parley-answer-id') as string
  const first = await readEvents(started, { count: 3, abort })

  const resumed = await fetch(`${a.gateway.url}/api/widget/chat/${answerId}/events`, {
    headers: { authorization: `Bearer ${token}`, 'last-event-id': first.at(-1)?.id as string },
  })
  t.equal(resumed.status, 200, 'A resumes the answer B runs')
  const rest = await readEvents(resumed)
  t.ok(rest.length > 10, 'most of the answer came live through A')
  t.equal(textOf([...first, ...rest]).trim(), WORDS, 'nothing lost, nothing twice')
  t.same(
    [...first, ...rest].map(event => event.id),
    [...first, ...rest].map((_, index) => `${answerId}:${index + 1}`),
  )
  t.equal(a.upstream.requests.length, 1, 'one upstream call')
})
