/**
 * Start and stop over a real socket: a graceful stop lets running requests and streams finish,
 * refuses new ones, runs plugin stop hooks in reverse order and is bounded by
 * server.shutdown_timeout_ms; a failed start leaves nothing open.
 */
import http from 'node:http'
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { createGateway, definePlugin, loadConfig, ParleyError } from '@parley/core'
import { createTestGateway, type TestGateway, type TestGatewayOptions } from '@parley/core/testing'

const SLOW_MS = 500

/** Polls `probe` until it is true; fails after `timeoutMs`. */
async function until(probe: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!probe()) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await sleep(10)
  }
}

async function* chunks(events: string[], name: string, count: number, gapMs: number): AsyncGenerator<string> {
  try {
    for (let index = 0; index < count; index++) {
      await sleep(gapMs)
      yield `${name} ${index}\n`
    }
    events.push(`${name} done`)
  } finally {
    events.push(`${name} closed`)
  }
}

/**
 * Two plugins, B requiring A, each recording its stop hook; B serves a slow route, a slow
 * stream and a stream that never ends. `events` shows what happened in which order.
 */
function plugins(events: string[]) {
  const a = definePlugin({
    id: 'lifecycle-a',
    version: '1.0.0',
    setup(ctx) {
      events.push('setup a')
      ctx.onStop(() => void events.push('stop a'))
    },
  })
  const b = definePlugin({
    id: 'lifecycle-b',
    version: '1.0.0',
    requires: ['lifecycle-a'],
    setup(ctx) {
      events.push('setup b')
      ctx.http.get('/slow', async () => {
        events.push('slow started')
        await sleep(SLOW_MS)
        events.push('slow done')
        return { done: true, padding: 'x'.repeat(2000) }
      })
      ctx.http.get('/stream', async (_request, reply) => {
        events.push('stream started')
        return reply.type('text/plain').send(Readable.from(chunks(events, 'stream', 5, SLOW_MS / 5)))
      })
      ctx.http.get('/endless', async (_request, reply) => {
        events.push('endless started')
        return reply.type('text/plain').send(Readable.from(chunks(events, 'endless', Number.MAX_SAFE_INTEGER, 50)))
      })
      ctx.onStop(() => void events.push('stop b'))
    },
  })
  // Listed dependent first: the kernel must order them by `requires`, not by this list.
  return [b, a]
}

async function boot(t: Test, events: string[], options: TestGatewayOptions = {}): Promise<TestGateway> {
  const gateway = await createTestGateway({ plugins: plugins(events), listen: true, ...options })
  t.teardown(() => gateway.close())
  return gateway
}

interface Answer {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
  /** The connection broke before the body was complete. */
  cut: boolean
}

/** A GET that resolves with whatever arrived, or rejects with the connection error (code). */
function get(url: string, agent: http.Agent | false, onFirstChunk?: () => void): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent }, response => {
      let body = ''
      let cut = false
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => {
        if (body === '') onFirstChunk?.()
        body += chunk
      })
      response.on('aborted', () => (cut = true))
      response.on('error', () => (cut = true))
      response.on('close', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body, cut: cut || !response.complete }),
      )
    })
    request.on('error', reject)
  })
}

t.test('graceful stop: running requests finish, new ones are refused, hooks run in reverse order', async t => {
  const events: string[] = []
  const gateway = await boot(t, events)
  t.same(events, ['setup a', 'setup b'], 'A is set up before B, which requires it')
  const agent = new http.Agent({ keepAlive: true })
  t.teardown(() => agent.destroy())

  const slow = get(`${gateway.url}/slow`, agent)
  const stream = get(`${gateway.url}/stream`, agent)
  await until(() => events.includes('slow started') && events.includes('stream started'))

  const stopStarted = performance.now()
  const stopping = gateway.stop()
  const late = get(`${gateway.url}/slow`, false).then(
    answer => `status ${answer.status}`,
    (error: NodeJS.ErrnoException) => error.code,
  )

  const [slowAnswer, streamAnswer] = await Promise.all([slow, stream])
  t.equal(slowAnswer.status, 200, 'the running request completes')
  t.same(JSON.parse(slowAnswer.body), { done: true, padding: 'x'.repeat(2000) }, 'with its full body')
  t.equal(streamAnswer.status, 200, 'the running stream completes')
  t.equal(streamAnswer.body, 'stream 0\nstream 1\nstream 2\nstream 3\nstream 4\n')
  t.notOk(streamAnswer.cut)

  t.match(await late, /^(ECONNREFUSED|ECONNRESET|status 503)$/, 'a request started after stop() began is refused')

  await stopping
  const stopMs = performance.now() - stopStarted
  t.ok(stopMs < 1500, `stop() finished once the work drained (${Math.round(stopMs)} ms), not at the 2 s deadline`)
  t.equal(gateway.state, 'stopped')
  const order = (event: string) => events.indexOf(event)
  t.ok(
    order('slow done') < order('stop b') && order('stream done') < order('stop b'),
    'stop hooks run after requests drained',
  )
  t.ok(order('stop b') !== -1 && order('stop b') < order('stop a'), 'B (which requires A) stops before A')
})

t.test('a request on a kept-alive connection during the drain gets the 503 envelope', async t => {
  const events: string[] = []
  const gateway = await boot(t, events)
  const { port } = new URL(gateway.url as string)
  const socket = net.connect(Number(port), '127.0.0.1')
  t.teardown(() => socket.destroy())
  let received = ''
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => (received += chunk))
  const closed = new Promise<void>(resolve => socket.once('close', () => resolve()))
  socket.write('GET /stream HTTP/1.1\r\nHost: localhost\r\n\r\n')
  await until(() => received.includes('stream 0'))

  const stopping = gateway.stop()
  await until(() => gateway.state === 'stopping')
  socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n')
  await Promise.race([closed, sleep(3000)])
  await stopping

  t.match(received, /^HTTP\/1\.1 200/, 'the stream answered first')
  t.match(received, 'stream 4\n', 'and completely')
  const second = received.slice(received.indexOf('HTTP/1.1', 10))
  t.match(second, /^HTTP\/1\.1 503/, 'the next request on that connection is refused')
  t.match(second, /connection: close/i)
  const body = second.slice(second.indexOf('\r\n\r\n') + 4)
  t.same(JSON.parse(body).error, {
    type: 'service_unavailable',
    message: 'The server is shutting down; retry on another instance',
    code: 'PARLEY_ERR_HTTP_SHUTTING_DOWN',
  })
})

t.test('server.shutdown_timeout_ms cuts a stream that never ends', async t => {
  const events: string[] = []
  const gateway = await boot(t, events, { config: { server: { shutdown_timeout_ms: 300 } } })
  let firstChunk = false
  const endless = get(`${gateway.url}/endless`, false, () => (firstChunk = true))
  await until(() => firstChunk)

  const started = performance.now()
  await gateway.stop()
  const stopMs = performance.now() - started
  t.ok(stopMs >= 250, `stop() waited for the drain deadline (${Math.round(stopMs)} ms)`)
  t.ok(stopMs < 1500, 'and then closed the connection instead of waiting for the stream')

  const answer = await endless
  t.equal(answer.status, 200)
  t.match(answer.body, /^endless 0\n/)
  t.ok(answer.cut, 'the client sees the stream cut, not a clean end')
  await until(() => events.includes('endless closed'))
  t.notOk(events.includes('endless done'))
  t.ok(events.indexOf('stop b') < events.indexOf('stop a'), 'stop hooks still run, in reverse order')
})

t.test('stop() is idempotent', async t => {
  const events: string[] = []
  const gateway = await boot(t, events)
  const first = gateway.stop()
  const second = gateway.stop()
  t.equal(first, second, 'a second call while stopping shares the first')
  await Promise.all([first, second])
  await gateway.stop()
  await gateway.close()
  t.equal(gateway.state, 'stopped')
  t.same(
    events.filter(event => event.startsWith('stop')),
    ['stop b', 'stop a'],
    'each stop hook ran exactly once',
  )
})

t.test('stop() without ever listening', async t => {
  const events: string[] = []
  const gateway = await boot(t, events, { listen: false })
  t.equal((await gateway.inject({ url: '/healthz' })).statusCode, 200)
  await gateway.stop()
  t.equal(gateway.state, 'stopped')
  t.same(
    events.filter(event => event.startsWith('stop')),
    ['stop b', 'stop a'],
  )
})

t.test('a plugin whose setup throws: createGateway rejects and leaves nothing open', async t => {
  // Kinds that come and go with any I/O; servers, sockets and timers are what would leak.
  const transient = new Set(['CloseReq', 'FSReqCallback', 'Immediate'])
  const resources = () =>
    process
      .getActiveResourcesInfo()
      .filter(kind => !transient.has(kind))
      .sort()
  const baseline = resources()
  const events: string[] = []
  // An earlier plugin holds real handles (a listening server, a timer) and frees them on close.
  const holder = definePlugin({
    id: 'holder',
    version: '1.0.0',
    async setup(ctx) {
      const server = net.createServer()
      await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
      const timer = setInterval(() => undefined, 1000)
      ctx.http.addHook('onClose', async () => {
        clearInterval(timer)
        await new Promise(resolve => server.close(resolve))
        events.push('holder closed')
      })
    },
  })
  const broken = definePlugin({
    id: 'broken-setup',
    version: '1.0.0',
    requires: ['holder'],
    setup() {
      throw new Error('cannot reach the licence server')
    },
  })
  const dataDir = t.testdir({})
  const config = loadConfig({
    file: false,
    env: {},
    cwd: dataDir,
    overrides: {
      env: 'test',
      data_dir: dataDir,
      log: { level: 'silent' },
      secrets: { secret_key: randomBytes(32).toString('hex'), encryption_key: randomBytes(32).toString('hex') },
    },
  })

  let failure: unknown
  try {
    await createGateway({ config, plugins: [holder, broken] })
  } catch (error) {
    failure = error
  }
  t.type(failure, ParleyError)
  t.equal((failure as ParleyError).code, 'PARLEY_ERR_PLUGIN_SETUP')
  t.match((failure as ParleyError).message, 'Plugin broken-setup failed during setup: cannot reach the licence server')
  t.match(
    (failure as Error).cause,
    { message: 'cannot reach the licence server' },
    'the original error is kept as the cause',
  )
  t.same(events, ['holder closed'], 'plugins set up before the failure were closed')
  // Closing a handle completes on a later tick; give it a moment (up to 5 s: the whole suite
  // runs test files in parallel on two cores, and a loaded machine took over 1 s), then compare.
  await until(() => resources().join() === baseline.join(), 5000).catch(() => undefined)
  t.same(resources(), baseline, 'no handle stays open')
})

t.test('the test kit reports a failing setup the same way', async t => {
  const broken = definePlugin({
    id: 'broken-kit',
    version: '1.0.0',
    setup() {
      throw new Error('nope')
    },
  })
  await t.rejects(createTestGateway({ plugins: [broken] }), { code: 'PARLEY_ERR_PLUGIN_SETUP', message: /broken-kit/ })
})
