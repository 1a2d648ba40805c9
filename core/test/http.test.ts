/**
 * The kernel's HTTP behaviour as a client sees it: request context (id, trace, client IP), the
 * error envelope, health, metrics, docs, slow and malformed clients on a real socket, and what
 * reaches the log. Each test boots its own gateway with the fixture plugin below.
 */
import net from 'node:net'
import { Readable, Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { defineErrors, definePlugin, Type } from '@parley/core'
import { createTestGateway, type TestGateway, type TestGatewayOptions } from '@parley/core/testing'
import { createLogger } from '../src/log.js'
import { JSON_MAX_DEPTH } from '../src/http/json-body.js'

const LEAKY_MESSAGE = 'upstream rejected key sk-live-LEAKY-0001 at /srv/secrets/provider.json'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const SPAN_ID = '00f067aa0ba902b7'

const fixtureErrors = defineErrors({
  PARLEY_ERR_FIXTURE_TAKEN: { status: 409, type: 'conflict', message: 'The name {name} is taken' },
})

async function* slowChunks(count: number, gapMs: number): AsyncGenerator<string> {
  for (let index = 0; index < count; index++) {
    await sleep(gapMs)
    yield `chunk ${index}\n`
  }
}

const fixture = definePlugin({
  id: 'fixture',
  version: '1.0.0',
  setup(ctx) {
    ctx.http.post(
      '/fixture/things',
      {
        schema: {
          body: Type.Object({
            name: Type.String({ minLength: 2 }),
            owner: Type.Optional(Type.Object({ age: Type.Integer({ minimum: 0 }) })),
          }),
        },
      },
      async request => ({ created: request.body.name }),
    )
    ctx.http.get('/fixture/items/:id', async request => ({ id: (request.params as { id: string }).id }))
    ctx.http.post(
      '/fixture/typed',
      {
        schema: {
          body: Type.Object({ count: Type.Integer() }, { additionalProperties: false }),
          querystring: Type.Object({ page: Type.Integer({ default: 1 }), full: Type.Boolean({ default: false }) }),
        },
      },
      async request => ({ count: request.body.count, page: request.query.page, full: request.query.full }),
    )
    ctx.http.get('/fixture/crash', async () => {
      throw new Error(LEAKY_MESSAGE)
    })
    ctx.http.get('/fixture/conflict', async () => {
      throw fixtureErrors.PARLEY_ERR_FIXTURE_TAKEN({ name: 'bob' }, { details: { name: 'bob' } })
    })
    ctx.http.get('/fixture/stream', async (_request, reply) =>
      reply.type('text/plain; charset=utf-8').send(Readable.from(slowChunks(5, 100))),
    )
    ctx.http.get('/fixture/echo', async request => ({
      id: request.id,
      ip: request.ip,
      trace_id: request.parley.traceId,
      parent_span_id: request.parley.parentSpanId ?? null,
    }))
    ctx.http.get('/fixture/log-headers', async request => {
      // What a careless plugin might do; the logger's redaction must still hold.
      request.log.info({ headers: request.headers }, 'fixture saw headers')
      return { ok: true }
    })
  },
})

async function boot(t: Test, options: TestGatewayOptions = {}): Promise<TestGateway> {
  const gateway = await createTestGateway({ plugins: [fixture], ...options })
  t.teardown(() => gateway.close())
  return gateway
}

interface Envelope {
  error: { type: string; message: string; code: string; [field: string]: unknown }
}

/** Asserts status and the `{error: {type, message, code}}` shape; returns the error object. */
function envelope(
  t: Test,
  response: { statusCode: number; headers: Record<string, unknown>; body: string },
  status: number,
  type: string,
): Envelope['error'] {
  t.equal(response.statusCode, status, `status ${status}`)
  t.match(String(response.headers['content-type']), /^application\/json/)
  const body = JSON.parse(response.body) as Envelope
  t.equal(body.error?.type, type)
  t.type(body.error?.message, 'string')
  t.type(body.error?.code, 'string')
  return body.error
}

/** A logger whose JSON lines are kept as text. */
function captureLogger(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean))
      done()
    },
  })
  return { logger: createLogger({ log: { level: 'debug' } }, stream), lines }
}

interface RawResult {
  /** Everything the server sent. */
  text: string
  /** Whether the server closed the connection before `limitMs`. */
  closed: boolean
  ms: number
}

/**
 * Opens a raw TCP connection, lets `talk` write to it, and collects the answer until the
 * server closes the socket (or `limitMs` passes, then the client gives up and says so).
 */
async function rawExchange(url: string, talk: (socket: net.Socket) => void, limitMs: number): Promise<RawResult> {
  const { hostname, port } = new URL(url)
  const socket = net.connect(Number(port), hostname)
  const started = performance.now()
  const chunks: Buffer[] = []
  socket.on('data', chunk => chunks.push(chunk))
  socket.on('error', () => undefined) // a reset is one of the answers we accept
  socket.once('connect', () => talk(socket))
  let timer: NodeJS.Timeout | undefined
  const closed = await Promise.race([
    new Promise<boolean>(resolve => socket.once('close', () => resolve(true))),
    new Promise<boolean>(resolve => {
      timer = setTimeout(() => resolve(false), limitMs)
    }),
  ])
  clearTimeout(timer)
  socket.destroy()
  return { text: Buffer.concat(chunks).toString('utf8'), closed, ms: performance.now() - started }
}

function parseRaw(text: string): { status: number; headers: string; body: string } {
  const split = text.indexOf('\r\n\r\n')
  const head = split === -1 ? text : text.slice(0, split)
  return {
    status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0),
    headers: head,
    body: split === -1 ? '' : text.slice(split + 4),
  }
}

t.test('request id', async t => {
  const gateway = await boot(t)

  const given = await gateway.inject({ url: '/fixture/echo', headers: { 'x-request-id': 'client-req_42.a:b@c' } })
  t.equal(given.headers['x-request-id'], 'client-req_42.a:b@c', 'a sane X-Request-Id is echoed')
  t.equal(given.json().id, 'client-req_42.a:b@c', 'and is the request id handlers see')

  const absent = [await gateway.inject({ url: '/fixture/echo' }), await gateway.inject({ url: '/fixture/echo' })]
  for (const response of absent) t.match(response.headers['x-request-id'], UUID, 'generated when absent')
  t.not(absent[0]?.headers['x-request-id'], absent[1]?.headers['x-request-id'], 'a fresh one per request')

  for (const [name, value] of [
    ['500 characters', 'a'.repeat(500)],
    ['spaces', 'has spaces in it'],
    ['markup', '<script>alert(1)</script>'],
    ['empty', ''],
  ] as const) {
    const response = await gateway.inject({ url: '/fixture/echo', headers: { 'x-request-id': value } })
    t.match(response.headers['x-request-id'], UUID, `replaced when it has ${name}`)
    t.equal(response.json().id, response.headers['x-request-id'])
  }

  const notFound = await gateway.inject({ url: '/no/such/thing', headers: { 'x-request-id': 'on-404' } })
  t.equal(notFound.headers['x-request-id'], 'on-404', 'echoed on errors too')
})

t.test('trace id from traceparent', async t => {
  const gateway = await boot(t)
  const valid = await gateway.inject({ url: '/fixture/echo', headers: { traceparent: `00-${TRACE_ID}-${SPAN_ID}-01` } })
  t.equal(valid.json().trace_id, TRACE_ID, 'a valid traceparent gives the trace id')
  t.equal(valid.json().parent_span_id, SPAN_ID)

  const seen = new Set<string>()
  for (const header of [
    `00-${'0'.repeat(32)}-${SPAN_ID}-01`,
    `00-${TRACE_ID}-${'0'.repeat(16)}-01`,
    `ff-${TRACE_ID}-${SPAN_ID}-01`,
    `00-${TRACE_ID.slice(1)}-${SPAN_ID}-01`,
    'garbage',
    undefined,
  ]) {
    const response = await gateway.inject({
      url: '/fixture/echo',
      headers: header === undefined ? {} : { traceparent: header },
    })
    const { trace_id: traceId, parent_span_id: parent } = response.json() as {
      trace_id: string
      parent_span_id: string | null
    }
    t.match(traceId, /^[0-9a-f]{32}$/, `${header}: a trace id is generated`)
    t.not(traceId, TRACE_ID, `${header}: the invalid one is not used`)
    t.not(traceId, '0'.repeat(32))
    t.equal(parent, null)
    seen.add(traceId)
  }
  t.equal(seen.size, 6, 'each generated trace id is fresh')
})

t.test('client IP honours X-Forwarded-For only from trusted proxies', async t => {
  t.test('trusted proxy address', async t => {
    const gateway = await boot(t, { config: { server: { trust_proxy: ['127.0.0.1'] } } })
    const viaProxy = await gateway.inject({
      url: '/fixture/echo',
      remoteAddress: '127.0.0.1',
      headers: { 'x-forwarded-for': '203.0.113.9' },
    })
    t.equal(viaProxy.json().ip, '203.0.113.9')
    const direct = await gateway.inject({
      url: '/fixture/echo',
      remoteAddress: '198.51.100.20',
      headers: { 'x-forwarded-for': '203.0.113.9' },
    })
    t.equal(direct.json().ip, '198.51.100.20', 'a client that is not a trusted proxy cannot claim another address')
  })

  t.test('trusted CIDR: the first untrusted hop from the right is the client', async t => {
    const gateway = await boot(t, { config: { server: { trust_proxy: ['10.0.0.0/8'] } } })
    const chain = await gateway.inject({
      url: '/fixture/echo',
      remoteAddress: '10.1.2.3',
      headers: { 'x-forwarded-for': '203.0.113.9, 10.9.9.9' },
    })
    t.equal(chain.json().ip, '203.0.113.9')
    const spoofed = await gateway.inject({
      url: '/fixture/echo',
      remoteAddress: '10.1.2.3',
      headers: { 'x-forwarded-for': '1.2.3.4, 198.51.100.5' },
    })
    t.equal(spoofed.json().ip, '198.51.100.5', 'an address the client prepended is not believed')
  })

  t.test('without trust_proxy the header is ignored', async t => {
    const gateway = await boot(t)
    const response = await gateway.inject({
      url: '/fixture/echo',
      remoteAddress: '127.0.0.1',
      headers: { 'x-forwarded-for': '203.0.113.9' },
    })
    t.equal(response.json().ip, '127.0.0.1')
  })
})

t.test('every error is the envelope', async t => {
  t.test('unknown route: JSON 404 without the query string', async t => {
    const gateway = await boot(t)
    for (const method of ['GET', 'POST', 'DELETE'] as const) {
      const response = await gateway.inject({ method, url: '/no/such/route?token=sekret-QS-123&x=1' })
      const error = envelope(t, response, 404, 'not_found')
      t.equal(error.code, 'PARLEY_ERR_HTTP_NOT_FOUND')
      t.match(error.message, `${method} /no/such/route`)
      t.notMatch(response.body, 'sekret-QS-123')
      t.notMatch(response.body, '?')
    }
  })

  t.test('malformed JSON: 400 invalid_json', async t => {
    const gateway = await boot(t)
    for (const payload of ['{"name": ', '', '{"__proto__": {"admin": true}, "name": "ab"}']) {
      const response = await gateway.inject({
        method: 'POST',
        url: '/fixture/things',
        headers: { 'content-type': 'application/json' },
        payload,
      })
      const error = envelope(t, response, 400, 'invalid_json')
      t.equal(error.code, 'PARLEY_ERR_HTTP_BAD_JSON', JSON.stringify(payload))
    }
  })

  t.test('JSON nested past the limit: 400 at once, strings do not count', async t => {
    const gateway = await boot(t)
    const deep = '['.repeat(100_000) + ']'.repeat(100_000)
    for (const payload of [deep, `{"name": ${'['.repeat(JSON_MAX_DEPTH)}${']'.repeat(JSON_MAX_DEPTH)}}`]) {
      const started = Date.now()
      const response = await gateway.inject({
        method: 'POST',
        url: '/fixture/things',
        headers: { 'content-type': 'application/json' },
        payload,
      })
      const error = envelope(t, response, 400, 'invalid_json')
      t.equal(error.code, 'PARLEY_ERR_HTTP_TOO_DEEP')
      t.match(error.message, String(JSON_MAX_DEPTH))
      t.ok(Date.now() - started < 1000, 'refused quickly')
    }
    const brackets = '['.repeat(500)
    const inString = await gateway.inject({
      method: 'POST',
      url: '/fixture/things',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ name: `ab${brackets}\\"${brackets}` }),
    })
    t.equal(inString.statusCode, 200, 'brackets inside a string (after an escaped quote too) are text')
    const atLimit = await gateway.inject({
      method: 'POST',
      url: '/fixture/things',
      headers: { 'content-type': 'application/json' },
      payload: `{"name": "ab", "owner": {"age": 1, "tags": ${'['.repeat(JSON_MAX_DEPTH - 2)}${']'.repeat(JSON_MAX_DEPTH - 2)}}}`,
    })
    t.not(atLimit.json().error?.code, 'PARLEY_ERR_HTTP_TOO_DEEP', 'the limit itself is fine')
  })

  t.test('schema validation: 400 invalid_request naming the field', async t => {
    const gateway = await boot(t)
    for (const [payload, field] of [
      [{ name: 'x' }, 'name'],
      [{}, 'name'],
      [{ name: { first: 'ab' } }, 'name'],
      [{ name: 'ok', owner: { age: -1 } }, 'owner.age'],
      [{ name: 'ok', owner: {} }, 'owner.age'],
    ] as const) {
      const response = await gateway.inject({ method: 'POST', url: '/fixture/things', payload })
      const error = envelope(t, response, 400, 'invalid_request')
      t.equal(error.code, 'PARLEY_ERR_HTTP_VALIDATION')
      t.equal(error.field, field, `${JSON.stringify(payload)} names ${field}`)
      t.equal(error.location, 'body')
      t.match(error.message, field.split('.').pop() as string)
    }
    const ok = await gateway.inject({ method: 'POST', url: '/fixture/things', payload: { name: 'ok' } })
    t.same(ok.json(), { created: 'ok' }, 'a valid body passes')
  })

  t.test('oversized body: 413 payload_too_large', async t => {
    const gateway = await boot(t, { config: { server: { body_limit: 1024 } } })
    const response = await gateway.inject({
      method: 'POST',
      url: '/fixture/things',
      payload: { name: 'x'.repeat(4000) },
    })
    const error = envelope(t, response, 413, 'payload_too_large')
    t.match(error.message, '1024')
    const small = await gateway.inject({ method: 'POST', url: '/fixture/things', payload: { name: 'x'.repeat(500) } })
    t.equal(small.statusCode, 200, 'under the limit is fine')
  })

  t.test('wrong content type: 415', async t => {
    const gateway = await boot(t)
    const response = await gateway.inject({
      method: 'POST',
      url: '/fixture/things',
      headers: { 'content-type': 'text/xml' },
      payload: '<name>ab</name>',
    })
    envelope(t, response, 415, 'unsupported_media_type')
  })

  t.test('undecodable URL: 400 envelope, URL not echoed', async t => {
    const gateway = await boot(t)
    const response = await gateway.inject({ url: '/fixture/items/%E0%A4%A?token=sekret-QS-456' })
    envelope(t, response, 400, 'invalid_request')
    t.notMatch(response.body, 'sekret-QS-456')
    t.match(response.headers['x-request-id'], UUID)
  })

  t.test('a plain Error thrown by a handler: 500 internal_error, nothing of it in the body', async t => {
    const { logger, lines } = captureLogger()
    const gateway = await boot(t, { logger })
    const response = await gateway.inject({ url: '/fixture/crash' })
    const error = envelope(t, response, 500, 'internal_error')
    t.equal(error.code, 'PARLEY_ERR_HTTP_INTERNAL')
    const requestId = String(response.headers['x-request-id'])
    t.match(error.message, requestId, 'the body gives the request id to quote')
    for (const leak of ['sk-live-LEAKY-0001', '/srv/secrets', 'upstream rejected', 'Error:', '.ts:', '    at ']) {
      t.notMatch(response.body, leak, `body does not contain ${JSON.stringify(leak)}`)
    }
    const logged = lines
      .map(line => JSON.parse(line) as Record<string, unknown>)
      .find(line => line.msg === 'request failed')
    t.equal(logged?.request_id, requestId, 'the log line with the stack carries the same request id')
    t.match(
      (logged?.err as { stack?: string } | undefined)?.stack,
      /http\.test\.ts/,
      'and the stack is in the log, not the body',
    )
  })

  t.test('a ParleyError keeps its status, type, code and details', async t => {
    const gateway = await boot(t)
    const response = await gateway.inject({ url: '/fixture/conflict' })
    const error = envelope(t, response, 409, 'conflict')
    t.same(error, { type: 'conflict', message: 'The name bob is taken', code: 'PARLEY_ERR_FIXTURE_TAKEN', name: 'bob' })
  })
})

t.test('input types: query strings are coerced, JSON bodies are not', async t => {
  const gateway = await boot(t)
  const ok = await gateway.inject({ method: 'POST', url: '/fixture/typed?page=3&full=true', payload: { count: 2 } })
  t.same(ok.json(), { count: 2, page: 3, full: true }, 'text in the query becomes the declared types')
  const text = envelope(
    t,
    await gateway.inject({ method: 'POST', url: '/fixture/typed', payload: { count: '2' } }),
    400,
    'invalid_request',
  )
  t.match(text, { field: 'count', message: /count must be integer/ }, 'a string in a JSON body is refused, not coerced')
  const unknown = envelope(
    t,
    await gateway.inject({ method: 'POST', url: '/fixture/typed', payload: { count: 1, colour: 'red' } }),
    400,
    'invalid_request',
  )
  t.match(unknown, { field: 'colour', message: 'body/colour is not a known field' })
})

t.test('/healthz and /readyz', async t => {
  t.test('alive and ready with a database check', async t => {
    const gateway = await boot(t)
    const health = await gateway.inject({ url: '/healthz' })
    t.equal(health.statusCode, 200)
    t.same(health.json(), { status: 'ok' })
    const ready = await gateway.inject({ url: '/readyz' })
    t.equal(ready.statusCode, 200)
    t.match(ready.json(), { status: 'ready', checks: { database: { ok: true, ms: Number } } })
  })

  t.test('not ready before start', async t => {
    const gateway = await boot(t, { start: false })
    const ready = await gateway.inject({ url: '/readyz' })
    t.equal(ready.statusCode, 503)
    t.equal(ready.json().status, 'starting')
  })

  t.test('503 once the database is gone, while /healthz stays 200', async t => {
    const gateway = await boot(t)
    await gateway.db.close()
    const started = performance.now()
    const ready = await gateway.inject({ url: '/readyz' })
    t.ok(performance.now() - started < 3000, 'answers within the check timeout instead of hanging')
    t.equal(ready.statusCode, 503)
    t.match(ready.json(), { status: 'unavailable', checks: { database: { ok: false, error: String } } })
    t.equal((await gateway.inject({ url: '/healthz' })).statusCode, 200)
  })

  t.test('a failing non-critical dependency is reported but keeps the instance ready', async t => {
    const optional = definePlugin({
      id: 'optional-dep',
      version: '1.0.0',
      setup(ctx) {
        ctx.health.register('search-index', {
          check: () => Promise.reject(new Error('index offline')),
          critical: false,
        })
      },
    })
    const gateway = await boot(t, { plugins: [optional] })
    const ready = await gateway.inject({ url: '/readyz' })
    t.equal(ready.statusCode, 200)
    t.match(ready.json(), {
      status: 'degraded',
      checks: { database: { ok: true }, 'optional-dep/search-index': { ok: false, error: 'index offline' } },
    })
  })

  t.test('Redis down at boot: the gateway starts, serves, and reports Redis degraded', async t => {
    const started = performance.now()
    const gateway = await createTestGateway({ redisUrl: 'redis://127.0.0.1:1' })
    t.teardown(gateway.close)
    t.ok(performance.now() - started < 15_000, 'start does not wait for Redis forever')
    t.equal(gateway.state, 'running')
    const ready = await gateway.inject({ url: '/readyz' })
    t.equal(ready.statusCode, 200, 'still ready: limits and caches degrade to this instance')
    t.match(ready.json(), { status: 'degraded', checks: { database: { ok: true }, redis: { ok: false } } })
  })
})

t.test('/metrics', async t => {
  t.test('Prometheus text with request counts by route template', async t => {
    const gateway = await boot(t)
    await gateway.inject({ url: '/healthz' })
    await gateway.inject({ url: '/fixture/items/123' })
    await gateway.inject({ url: '/fixture/items/456' })
    await gateway.inject({ url: '/no-such-page-789' })
    const response = await gateway.inject({ url: '/metrics' })
    t.equal(response.statusCode, 200)
    t.match(response.headers['content-type'], /^text\/plain/)
    t.match(response.body, '# TYPE parley_http_requests_total counter')
    t.match(response.body, 'parley_http_requests_total{method="GET",route="/healthz",status_code="200"} 1')
    t.match(response.body, 'parley_http_requests_total{method="GET",route="/fixture/items/:id",status_code="200"} 2')
    t.match(response.body, 'parley_http_requests_total{method="GET",route="unmatched",status_code="404"} 1')
    t.notMatch(response.body, '/fixture/items/123', 'raw URLs never become labels')
    t.notMatch(response.body, 'no-such-page-789')
    t.match(response.body, 'parley_http_request_duration_seconds_bucket')
    t.match(response.body, 'parley_process_cpu', 'default process metrics, prefixed')
    t.match(response.body, 'parley_nodejs_eventloop_lag_p99_seconds', 'the event-loop lag')
  })

  t.test('with a token configured, a bearer token is required', async t => {
    const token = 'metrics-token-0123456789'
    const gateway = await boot(t, { config: { server: { metrics: { token } } } })
    for (const authorization of [undefined, 'Bearer wrong-token-0123456789', token, `Bearer ${token}x`]) {
      const response = await gateway.inject({ url: '/metrics', headers: authorization ? { authorization } : {} })
      t.equal(response.statusCode, 401, `refused with ${authorization}`)
      t.equal(response.json().error.type, 'unauthorized')
      t.notMatch(response.body, token)
    }
    const ok = await gateway.inject({ url: '/metrics', headers: { authorization: `Bearer ${token}` } })
    t.equal(ok.statusCode, 200)
    t.match(ok.body, 'parley_http_requests_total')
  })

  t.test('production default: the host itself only; a token admits others; allow names networks', async t => {
    const production = await boot(t, { config: { env: 'production' } })
    t.equal((await production.inject({ url: '/metrics', remoteAddress: '127.0.0.1' })).statusCode, 200, 'loopback')
    t.equal((await production.inject({ url: '/metrics', remoteAddress: '::1' })).statusCode, 200, 'loopback v6')
    const outside = await production.inject({ url: '/metrics', remoteAddress: '203.0.113.9' })
    envelope(t, outside, 403, 'forbidden')
    t.notMatch(outside.body, 'parley_', 'no metric leaks')

    const token = 'metrics-token-0123456789'
    const both = await boot(t, {
      config: { env: 'production', server: { metrics: { token, allow: ['10.0.0.0/8', '2001:db8::/32'] } } },
    })
    t.equal(
      (await both.inject({ url: '/metrics', remoteAddress: '10.1.2.3' })).statusCode,
      200,
      'an allowed network needs no token',
    )
    t.equal(
      (await both.inject({ url: '/metrics', remoteAddress: '2001:db8::7' })).statusCode,
      200,
      'an allowed v6 network',
    )
    t.equal(
      (await both.inject({ url: '/metrics', remoteAddress: '203.0.113.9' })).statusCode,
      401,
      'others need the token',
    )
    t.equal(
      (
        await both.inject({
          url: '/metrics',
          remoteAddress: '203.0.113.9',
          headers: { authorization: `Bearer ${token}` },
        })
      ).statusCode,
      200,
    )

    const development = await boot(t, { config: { env: 'development' } })
    t.equal(
      (await development.inject({ url: '/metrics', remoteAddress: '203.0.113.9' })).statusCode,
      200,
      'open in development',
    )
  })

  t.test('a bad allow entry stops the start naming it', async t => {
    await t.rejects(boot(t, { config: { server: { metrics: { allow: ['10.0.0.0/99'] } } } }), {
      code: 'PARLEY_ERR_CONFIG_INVALID',
      message: /server\.metrics\.allow\.0 = "10\.0\.0\.0\/99"/,
    })
  })

  t.test('the 401 carries an error code like every other error', async t => {
    const gateway = await boot(t, { config: { server: { metrics: { token: 'metrics-token-0123456789' } } } })
    envelope(t, await gateway.inject({ url: '/metrics' }), 401, 'unauthorized')
  })
})

t.test('/docs', async t => {
  t.test('Swagger UI and an OpenAPI document with the plugin routes', async t => {
    const gateway = await boot(t)
    const ui = await gateway.inject({ url: '/docs' })
    t.equal(ui.statusCode, 200)
    t.match(ui.headers['content-type'], /^text\/html/)
    t.match(ui.body, /swagger-ui/i)
    const document = await gateway.inject({ url: '/docs/json' })
    t.equal(document.statusCode, 200)
    const openapi = document.json() as {
      openapi: string
      paths: Record<string, Record<string, { requestBody?: unknown }>>
    }
    t.match(openapi.openapi, /^3\./)
    t.ok(openapi.paths['/fixture/things']?.post, 'the fixture route is documented')
    t.match(openapi.paths['/fixture/things']?.post?.requestBody, {
      content: { 'application/json': { schema: { properties: { name: { type: 'string' } } } } },
    })
    t.ok(openapi.paths['/healthz'], 'system routes too')
    t.notOk(openapi.paths['/metrics'], 'hidden routes stay hidden')
  })

  t.test('off by default in production, on when the config says so', async t => {
    const production = await boot(t, { config: { env: 'production' } })
    envelope(t, await production.inject({ url: '/docs' }), 404, 'not_found')
    envelope(t, await production.inject({ url: '/docs/json' }), 404, 'not_found')
    const chosen = await boot(t, { config: { env: 'production', server: { docs: true } } })
    t.equal((await chosen.inject({ url: '/docs' })).statusCode, 200)
  })

  t.test('server.docs: false removes them', async t => {
    const gateway = await boot(t, { config: { server: { docs: false } } })
    envelope(t, await gateway.inject({ url: '/docs' }), 404, 'not_found')
    envelope(t, await gateway.inject({ url: '/docs/json' }), 404, 'not_found')
  })
})

t.test('over a real socket', async t => {
  const timeouts = { server: { headers_timeout_ms: 1000, request_timeout_ms: 1000 } }

  t.test('a streamed response arrives piece by piece', async t => {
    const gateway = await boot(t, { listen: true })
    const started = performance.now()
    const response = await fetch(`${gateway.url}/fixture/stream`)
    t.equal(response.status, 200)
    t.match(response.headers.get('x-request-id'), UUID)
    const arrivals: number[] = []
    let text = ''
    const decoder = new TextDecoder()
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      arrivals.push(performance.now() - started)
      text += decoder.decode(chunk, { stream: true })
    }
    t.equal(text, 'chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n')
    t.ok(arrivals.length >= 3, `several chunks (${arrivals.length})`)
    t.ok((arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0) >= 250, 'the first chunk came well before the last')
  })

  t.test('slowloris: headers that never finish are cut off', async t => {
    const gateway = await boot(t, { listen: true, config: timeouts })
    let drip: NodeJS.Timeout | undefined
    const result = await rawExchange(
      gateway.url as string,
      socket => {
        socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n')
        drip = setInterval(() => socket.writable && socket.write(`X-Drip-${Date.now()}: 1\r\n`), 200)
      },
      6000,
    )
    clearInterval(drip)
    t.ok(result.closed, `the server closed the connection (after ${Math.round(result.ms)} ms)`)
    t.ok(result.ms < 4000, 'within a few seconds of the 1 s headers timeout')
    if (result.text) t.equal(parseRaw(result.text).status, 408)
  })

  t.test('slowloris: a body that never finishes is cut off', async t => {
    const gateway = await boot(t, { listen: true, config: timeouts })
    const result = await rawExchange(
      gateway.url as string,
      socket => {
        socket.write(
          'POST /fixture/things HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"name":',
        )
      },
      6000,
    )
    t.ok(result.closed, `the server closed the connection (after ${Math.round(result.ms)} ms)`)
    t.ok(result.ms < 4000, 'within a few seconds of the 1 s request timeout')
    if (result.text) t.equal(parseRaw(result.text).status, 408)
  })

  t.test('a malformed request line gets a 400 envelope', async t => {
    const gateway = await boot(t, { listen: true })
    const result = await rawExchange(gateway.url as string, socket => socket.write('THIS IS NOT HTTP\r\n\r\n'), 3000)
    t.ok(result.closed, 'and the connection is closed')
    const answer = parseRaw(result.text)
    t.equal(answer.status, 400)
    t.match(answer.headers, /content-type: application\/json/i)
    t.match(JSON.parse(answer.body), {
      error: { type: 'invalid_request', message: String, code: 'PARLEY_ERR_HTTP_CLIENT' },
    })
  })

  t.test('oversized headers get a 431 envelope', async t => {
    const gateway = await boot(t, { listen: true })
    const result = await rawExchange(
      gateway.url as string,
      socket => socket.write(`GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(32 * 1024)}\r\n\r\n`),
      3000,
    )
    const answer = parseRaw(result.text)
    t.equal(answer.status, 431)
    t.match(JSON.parse(answer.body), { error: { type: 'headers_too_large', code: 'PARLEY_ERR_HTTP_CLIENT' } })
  })
})

t.test('log lines carry the request context and never a credential', async t => {
  const { logger, lines } = captureLogger()
  const gateway = await boot(t, { logger, config: { server: { trust_proxy: ['127.0.0.1'] } } })
  const secrets = ['Bearer-SECRET-AUTH-1', 'SECRET-APIKEY-2', 'SECRET-QUERY-3', 'SECRET-COOKIE-4']
  const headers = {
    authorization: `Bearer ${secrets[0]}`,
    'x-api-key': secrets[1],
    cookie: `session=${secrets[3]}`,
    traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`,
    'x-forwarded-for': '198.51.100.7',
  }
  const before = lines.length
  for (const [url, requestId] of [
    [`/fixture/echo?api_key=${secrets[2]}`, 'log-echo'],
    [`/fixture/log-headers?token=${secrets[2]}`, 'log-headers'],
    ['/fixture/crash', 'log-crash'],
    ['/metrics', 'log-metrics'],
    [`/nowhere?api_key=${secrets[2]}`, 'log-404'],
  ] as const) {
    await gateway.inject({ url, remoteAddress: '127.0.0.1', headers: { ...headers, 'x-request-id': requestId } })
  }
  const records = lines.slice(before).map(line => JSON.parse(line) as Record<string, unknown>)

  const completed = records.find(record => record.msg === 'request completed' && record.request_id === 'log-echo')
  t.match(completed, {
    request_id: 'log-echo',
    trace_id: TRACE_ID,
    ip: '198.51.100.7',
    method: 'GET',
    path: '/fixture/echo',
    status: 200,
  })
  const pluginLine = records.find(record => record.msg === 'fixture saw headers')
  t.match(pluginLine, { request_id: 'log-headers', trace_id: TRACE_ID, ip: '198.51.100.7' })
  t.equal(
    (pluginLine?.headers as Record<string, unknown> | undefined)?.authorization,
    '[redacted]',
    'redacted, not merely absent',
  )
  t.equal((pluginLine?.headers as Record<string, unknown> | undefined)?.['x-api-key'], '[redacted]')
  for (const requestId of ['log-echo', 'log-headers', 'log-crash', 'log-metrics', 'log-404']) {
    t.ok(
      records.some(record => record.msg === 'request completed' && record.request_id === requestId),
      `${requestId} was logged`,
    )
  }

  const text = lines.join('\n')
  for (const secret of secrets) t.notMatch(text, secret, `${secret} appears in no log line`)
})

t.test('a NUL in the body or the URL: 400 before any route reads it', async t => {
  const gateway = await boot(t)
  const body = await gateway.inject({
    method: 'POST',
    url: '/fixture/things',
    headers: { 'content-type': 'application/json' },
    payload: '{"name": "a\\u0000b"}',
  })
  t.equal(body.statusCode, 400)
  t.match(body.json(), { error: { type: 'invalid_request', code: 'PARLEY_ERR_HTTP_NUL' } })
  for (const url of ['/fixture/items/a%00b', '/fixture/things?name=%00']) {
    const response = await gateway.inject({ method: 'GET', url })
    t.equal(response.statusCode, 400, url)
    t.equal(response.json().error.code, 'PARLEY_ERR_HTTP_NUL')
  }
  const zh = await gateway.inject({ method: 'GET', url: '/fixture/items/%00', headers: { 'accept-language': 'zh-CN' } })
  t.match(zh.json().error.message, /NUL/)
  t.equal(
    (await gateway.inject({ method: 'POST', url: '/fixture/things', payload: { name: 'a\\u0000 as text' } }))
      .statusCode,
    200,
    'a backslash-u written out in text is fine',
  )
})
