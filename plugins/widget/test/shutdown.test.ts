import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { freePort, missingService, testServices } from '@parley/core/testing'
import { createClient, createSession, readEvents, textOf, widgetGateway, type WidgetEvent } from './helpers.js'

/**
 * A widget answer runs detached from its connection, so the HTTP drain does not wait for it:
 * the plugin's stop does. Two instances on one Redis: the one running the answer shuts down
 * while the browser is gone, and the other replays the answer from the KV store afterwards.
 */

/**
 * A TCP proxy to Redis that, once armed, holds every chunk the gateway sends for `delayMs`:
 * the answer's writes to the KV store fall behind the answer itself, as on a busy Redis.
 */
async function slowRedis(t: Test, delayMs: number): Promise<{ url: string; arm(): void }> {
  let armed = false
  const target = new URL(testServices.redisUrl as string)
  const [host, redisPort] = [target.hostname, Number(target.port || 6379)]
  const sockets = new Set<net.Socket>()
  const server = net.createServer(client => {
    const redis = net.connect(redisPort, host)
    let queue = Promise.resolve()
    client.on('data', chunk => {
      queue = queue
        .then(() => (armed ? sleep(delayMs) : undefined))
        .then(() => void (redis.destroyed || redis.write(chunk)))
    })
    client.on('end', () => void queue.then(() => redis.end()))
    redis.pipe(client)
    for (const socket of [client, redis]) {
      sockets.add(socket)
      socket.on('error', () => undefined)
      socket.on('close', () => sockets.delete(socket))
    }
  })
  const port = await freePort()
  await new Promise<void>(resolve => server.listen(port, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const socket of sockets) socket.destroy()
    return new Promise<void>(resolve => server.close(() => resolve()))
  })
  target.hostname = '127.0.0.1'
  target.port = String(port)
  return { url: target.toString(), arm: () => void (armed = true) }
}

const WORDS = Array.from({ length: 30 }, (_, index) => `w${index}`).join(' ')

async function startAnswer(t: Test, chunkDelayMs: number, shutdownMs: number, slow?: { url: string; arm(): void }) {
  const owner = await widgetGateway(t, { listen: true, redisUrl: testServices.redisUrl as string })
  const runner = await widgetGateway(t, {
    listen: true,
    sharedWith: owner.gateway,
    upstream: owner.upstream,
    config: { server: { shutdown_timeout_ms: shutdownMs }, ...(slow ? { redis: { url: slow.url } } : {}) },
  })
  const client = await createClient(owner.gateway)
  const token = await createSession(owner.gateway, client)
  owner.upstream.reply({ text: WORDS, chunkDelayMs })
  const abort = new AbortController()
  const response = await fetch(`${runner.gateway.url}/api/widget/chat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'count' }] }),
    signal: abort.signal,
  })
  t.equal(response.status, 200)
  slow?.arm()
  const answerId = response.headers.get('x-parley-answer-id') as string
  // The browser leaves after three events: nothing holds the HTTP server open any more.
  await readEvents(response, { count: 3, abort })
  // An answer whose end never reached the store would be followed until its log expires.
  const replay = async (): Promise<WidgetEvent[]> => {
    const resumed = await fetch(`${owner.gateway.url}/api/widget/chat/${answerId}/events`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(10_000),
    })
    t.equal(resumed.status, 200, 'the other instance knows the answer')
    return readEvents(resumed).catch(() => [{ id: '', data: 'the log has no end' }])
  }
  return { owner, runner, answerId, replay }
}

t.test(
  'a shutdown waits for a running answer; all its events are in the KV store afterwards',
  { skip: missingService('redis') },
  async t => {
    // 30 events, 20 ms apart, each written with two commands held 30 ms: the store lags behind.
    const { owner, runner, answerId, replay } = await startAnswer(t, 20, 10_000, await slowRedis(t, 30))
    await runner.gateway.close()
    t.equal(owner.upstream.requests[0]?.outcome, 'completed', 'the upstream answer was read to its end')
    const events = await replay()
    t.equal(events.at(-1)?.data, '[DONE]', 'the stored answer ends as it did')
    t.equal(textOf(events).trim(), WORDS, 'every word is stored')
    t.same(
      events.map(event => event.id),
      events.map((_, index) => `${answerId}:${index + 1}`),
      'every event, in order',
    )
  },
)

t.test(
  'the wait is bounded by the drain time: a longer answer is stopped, its log still ends',
  { skip: missingService('redis') },
  async t => {
    // 30 words, 150 ms apart: about 4.5 s; the drain time is 0.6 s.
    const { owner, runner, replay } = await startAnswer(t, 150, 600)
    const started = Date.now()
    await runner.gateway.close()
    const elapsed = Date.now() - started
    t.ok(elapsed >= 550, `it waited for the drain time (${elapsed} ms)`)
    t.ok(elapsed < 3_500, `and no longer than it plus the flush (${elapsed} ms)`)
    t.not(owner.upstream.requests[0]?.outcome, 'completed', 'the answer was stopped')
    const events = await replay()
    const text = textOf(events).trim()
    t.ok(text.length > 0 && text.length < WORDS.length && WORDS.startsWith(text), 'what was said before the stop')
    t.match(
      JSON.parse(events.at(-1)?.data ?? '{}'),
      { error: { type: 'service_unavailable', code: 'PARLEY_ERR_WIDGET_ANSWER_INTERRUPTED', message: /restarted/ } },
      'then why it stops there, which the frame shows',
    )
  },
)
