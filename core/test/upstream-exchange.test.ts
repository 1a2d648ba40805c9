import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { Agent } from 'undici'
import { UpstreamExchange, type ExchangeWatcher } from '../src/upstream/upstream-exchange.js'

/*
 * The passthrough's upstream exchange, against a real HTTP server: what the relay reads must be
 * exactly what the upstream wrote, frames of one socket read come as one chunk, a slow reader
 * pauses the upstream socket instead of buffering without end, and an abort reaches the server.
 */

type Handler = (request: IncomingMessage, response: ServerResponse, body: string) => void

async function upstream(t: Test, handler: Handler): Promise<{ url: string; agent: Agent }> {
  const server = createServer((request, response) => {
    let body = ''
    request.setEncoding('utf8')
    request.on('data', (part: string) => (body += part))
    request.on('end', () => handler(request, response, body))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const agent = new Agent({ keepAliveTimeout: 1000 })
  t.teardown(async () => {
    server.closeAllConnections()
    server.close()
    await agent.close()
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions?x=1`, agent }
}

/** An upstream that sends a head and the start of an answer, then holds; `gone` settles when its connection closes. */
async function halfAnswer(
  t: Test,
  status: number,
  type: string,
  start: string,
): Promise<{ url: string; agent: Agent; gone: Promise<void> }> {
  let closed!: () => void
  const gone = new Promise<void>(resolve => (closed = resolve))
  const served = await upstream(t, (_request, response) => {
    response.writeHead(status, { 'content-type': type })
    response.write(start)
    response.on('close', closed)
  })
  return { ...served, gone }
}

async function readAll(exchange: UpstreamExchange): Promise<Buffer[]> {
  const chunks: Buffer[] = []
  for (;;) {
    const next = await exchange.next()
    if (next.done) return chunks
    chunks.push(Buffer.from(next.value))
  }
}

const tick = () => new Promise(resolve => setImmediate(resolve))

/** A watcher that writes down what it is told. */
const recorder = (events: string[]): ExchangeWatcher => ({
  waiting: () => events.push('waiting'),
  resumed: () => events.push('resumed'),
  flowing: () => events.push('flowing'),
})

t.test('sends the request as given and reads the answer whole', async t => {
  let seen: { method?: string; url?: string; type?: string; auth?: string; body?: string } = {}
  const { url, agent } = await upstream(t, (request, response, body) => {
    seen = {
      method: request.method,
      url: request.url,
      type: request.headers['content-type'],
      auth: request.headers.authorization,
      body,
    }
    response.writeHead(200, { 'content-type': 'application/json', 'retry-after': '7' })
    response.end('{"ok":true}')
  })
  const exchange = new UpstreamExchange(agent, { url, headers: { authorization: 'Bearer sk-test' } }, '{"model":"m"}')
  const head = await exchange.head
  t.equal(head.status, 200)
  t.equal(head.header('retry-after'), '7', 'headers are read by their lower-case name')
  t.equal(head.header('x-missing'), undefined)
  t.equal(Buffer.concat(await readAll(exchange)).toString(), '{"ok":true}')
  t.same(seen, {
    method: 'POST',
    url: '/v1/chat/completions?x=1',
    type: 'application/json',
    auth: 'Bearer sk-test',
    body: '{"model":"m"}',
  })
})

t.test('frames that arrive together reach the reader as one chunk, in order', async t => {
  const frames = Array.from({ length: 24 }, (_, index) => `data: {"n":${index}}\n\n`)
  const { url, agent } = await upstream(t, (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream' })
    // Separate writes, as a model streams them; they reach our socket in a few reads.
    for (const frame of frames) response.write(frame)
    response.end('data: [DONE]\n\n')
  })
  const exchange = new UpstreamExchange(agent, { url, headers: {} }, '{}')
  await exchange.head
  const chunks = await readAll(exchange)
  t.equal(Buffer.concat(chunks).toString(), `${frames.join('')}data: [DONE]\n\n`, 'every byte, in order')
  t.ok(chunks.length < frames.length, `${frames.length + 1} frames came as ${chunks.length} chunks`)
})

t.test('a reader that does not read pauses the upstream socket, and reading resumes it', async t => {
  const piece = 'x'.repeat(16 * 1024)
  // 32 MiB: more than the loopback socket buffers of both ends can hold.
  const total = 2048
  let written = 0
  let finished = false
  const { url, agent } = await upstream(t, (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream' })
    const more = () => {
      while (written < total) {
        written++
        if (!response.write(piece)) return void response.once('drain', more)
      }
      response.end(() => (finished = true))
    }
    more()
  })
  const exchange = new UpstreamExchange(agent, { url, headers: {} }, '{}')
  await exchange.head
  for (let i = 0; i < 20; i++) await tick()
  t.ok(
    written < total && !finished,
    `the upstream is held back (${written} of ${total} pieces written) while nobody reads`,
  )
  const bytes = Buffer.concat(await readAll(exchange)).length
  t.equal(bytes, piece.length * total, 'reading on gets the whole answer')
})

t.test('an abort drops the connection and fails the read with its reason', async t => {
  const { url, agent, gone } = await halfAnswer(t, 200, 'text/event-stream', 'data: {"n":1}\n\n')
  const exchange = new UpstreamExchange(agent, { url, headers: {} }, '{}')
  await exchange.head
  t.equal(Buffer.from((await exchange.next()).value as Uint8Array).toString(), 'data: {"n":1}\n\n')
  const reading = exchange.next()
  const reason = new Error('stopped: idle')
  exchange.abort(reason)
  await t.rejects(reading, reason, 'the waiting read fails with the abort reason')
  await gone
  t.pass('the upstream saw its connection close')
})

t.test('an abort before the answer rejects the head; connect errors do too', async t => {
  const { url, agent } = await upstream(t, () => {
    // Never answers.
  })
  const exchange = new UpstreamExchange(agent, { url, headers: {} }, '{}')
  const reason = new Error('stopped: first_byte')
  exchange.abort(reason)
  await t.rejects(exchange.head, reason)

  const refused = new UpstreamExchange(agent, { url: 'http://127.0.0.1:1/v1/chat/completions', headers: {} }, '{}')
  await t.rejects(refused.head, { code: 'ECONNREFUSED' })
})

t.test('an upstream that breaks off mid-answer fails the read', async t => {
  const { url, agent } = await upstream(t, (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream' })
    response.write('data: {"n":1}\n\n', () => setTimeout(() => response.socket?.destroy(), 20))
  })
  const exchange = new UpstreamExchange(agent, { url, headers: {} }, '{}')
  await exchange.head
  await t.rejects(readAll(exchange), Error)
})

t.test('return() stops an answer that is not wanted', async t => {
  const { url, agent, gone } = await halfAnswer(t, 500, 'application/json', '{"error":')
  const exchange = new UpstreamExchange(agent, { url, headers: {} }, '{}')
  t.equal((await exchange.head).status, 500)
  t.same(await exchange.return(), { done: true, value: undefined })
  await gone
  t.pass('the upstream saw its connection close')
})

t.test('the watcher is told exactly when the reader waits on the upstream', async t => {
  let release!: () => void
  const held = new Promise<void>(resolve => (release = resolve))
  const { url, agent } = await upstream(t, (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream' })
    response.write('data: 1\n\n')
    void held.then(() => response.end('data: 2\n\n'))
  })
  const events: string[] = []
  const exchange = new UpstreamExchange(agent, { url, headers: {} }, '{}', recorder(events))
  t.same(events, ['waiting'], 'the head is waited for from the start')
  await exchange.head
  t.same(events, ['waiting', 'resumed'])
  // Time for the first frame, written with the head, to be buffered.
  await new Promise(resolve => setTimeout(resolve, 50))
  events.length = 0
  t.equal(Buffer.from((await exchange.next()).value as Uint8Array).toString(), 'data: 1\n\n')
  t.same(events, [], 'a read that finds bytes buffered does not wait')
  const second = exchange.next()
  t.same(events, ['waiting'], 'nothing buffered: the reader waits')
  release()
  t.equal(Buffer.from((await second).value as Uint8Array).toString(), 'data: 2\n\n')
  t.same(events, ['waiting', 'resumed'], 'and the wait ends with the bytes')
  t.ok((await exchange.next()).done)
})

t.test(
  'whole() gives the answer as one buffer at its end, past the high-water mark, and tells the watcher of its waits',
  async t => {
    let release!: () => void
    const held = new Promise<void>(resolve => (release = resolve))
    const big = 'x'.repeat(200 * 1024)
    const { url, agent } = await upstream(t, (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.write(`{"a":"${big}",`)
      void held.then(() => response.end('"b":1}'))
    })
    const events: string[] = []
    const exchange = new UpstreamExchange(agent, { url, headers: {} }, '{}', recorder(events))
    t.equal((await exchange.head).status, 200)
    events.length = 0
    const whole = exchange.whole(1024 * 1024)
    // The first part is read (more than the 64 KiB at which next() readers hold the socket back).
    while (!events.includes('flowing')) await tick()
    t.equal(events.at(-1), 'waiting', 'with the first part in, the rest is waited for')
    release()
    const answer = await whole
    t.same(JSON.parse(answer.toString()), { a: big, b: 1 }, 'every byte, in order')
    t.equal(events.at(-1), 'resumed', 'the last wait ends with the answer')
    t.ok((await exchange.next()).done, 'nothing is left to read')
  },
)

t.test('whole() refuses an answer larger than its limit and drops the connection', async t => {
  const { url, agent, gone } = await halfAnswer(t, 200, 'application/json', `{"a":"${'x'.repeat(4096)}`)
  const exchange = new UpstreamExchange(agent, { url, headers: {} }, '{}')
  await exchange.head
  await t.rejects(exchange.whole(1024), { message: 'upstream answer too large' })
  await gone
  t.pass('the upstream saw its connection close')
})

t.test('whole() fails with an abort or an upstream that breaks off', async t => {
  const half = await halfAnswer(t, 200, 'application/json', '{"a":')
  const aborted = new UpstreamExchange(half.agent, { url: half.url, headers: {} }, '{}')
  await aborted.head
  const reading = aborted.whole(1024)
  const reason = new Error('stopped: idle')
  aborted.abort(reason)
  await t.rejects(reading, reason, 'the read fails with the abort reason')
  await half.gone

  const { url, agent } = await upstream(t, (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' })
    response.write('{"a":', () => setTimeout(() => response.socket?.destroy(), 20))
  })
  const broken = new UpstreamExchange(agent, { url, headers: {} }, '{}')
  await broken.head
  await t.rejects(broken.whole(1024), Error)
})

t.test('whole() called after the upstream was held back takes up the rest', async t => {
  const piece = 'y'.repeat(16 * 1024)
  const total = 40
  const { url, agent } = await upstream(t, (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' })
    let written = 0
    const more = (): void => {
      while (written < total) {
        written++
        if (!response.write(piece)) return void response.once('drain', more)
      }
      response.end()
    }
    more()
  })
  const exchange = new UpstreamExchange(agent, { url, headers: {} }, '{}')
  await exchange.head
  // Nobody reads for a while: more than the high-water mark arrives and the socket is paused.
  for (let i = 0; i < 20; i++) await tick()
  const answer = await exchange.whole(1024 * 1024)
  t.equal(answer.length, piece.length * total, 'every byte, although the socket had been paused before')
})
