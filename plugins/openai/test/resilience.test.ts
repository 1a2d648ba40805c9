/**
 * Failure handling of the data plane, seen from the official `openai` SDK: failover over keys
 * and channels before the first byte and never after it, key cooling, timeouts, client
 * disconnects, broken answers, and keys that never reach a log line or a client.
 */
import { randomBytes } from 'node:crypto'
import http from 'node:http'
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import OpenAI, { APIError } from 'openai'
import t, { type Test } from 'tap'
import { definePlugin, type AnyPluginDefinition, type Principal } from '@parley/core'
import {
  captureLogs,
  createTestGateway,
  freePort,
  providerPlugin,
  scriptedProvider,
  startMockUpstream,
  type CapturedLogs,
  type MockUpstream,
  type MockUpstreamOptions,
  type TestGateway,
} from '@parley/core/testing'
import openai from '@parley/openai'

// ---------------------------------------------------------------- helpers

const MODEL = 'gpt-4o-mini'
const MESSAGES = [{ role: 'user' as const, content: 'Say something nice about gateways' }]
/** The caller of every data-plane call: an API token of group `default`. */
const CALLER = 'token-default'

/** Every channel key made in this file, and every log and client-visible text: the last test checks them all. */
const channelKeys = new Set<string>()
/** Keys an upstream deliberately echoes back; their own tests check them, the final sweep skips them. */
const hostileKeys = new Set<string>()
const logsOf = new Map<TestGateway, CapturedLogs>()
const clientTexts: string[] = []

const auth = definePlugin({
  id: 'resilience-test-auth',
  version: '1.0.0',
  setup(ctx) {
    ctx.auth.register('fixture', {
      async authenticate(request): Promise<Principal | undefined> {
        const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1]
        if (token === 'root') return { kind: 'user', userId: '1', role: 'root', group: 'default', name: 'root' }
        const group = /^token-(.+)$/.exec(token ?? '')?.[1]
        if (group) return { kind: 'api_token', tokenId: '7', userId: '2', role: 'user', group, name: 'ada' }
        return undefined
      },
    })
  },
})

/** A fresh channel key, long enough that the gateway masks it when an upstream quotes it. */
function key(label: string): string {
  const value = `sk-${label}-${randomBytes(12).toString('hex')}`
  channelKeys.add(value)
  return value
}

/** A listening gateway with the openai provider, logging at debug into a capture, closed at teardown. */
async function boot(
  t: Test,
  upstream: Record<string, number> = {},
  extra: AnyPluginDefinition[] = [],
): Promise<TestGateway> {
  const logs = captureLogs('debug')
  const gateway = await createTestGateway({
    plugins: [auth, openai, ...extra],
    listen: true,
    logger: logs.logger,
    config: { upstream },
  })
  logsOf.set(gateway, logs)
  t.teardown(gateway.close)
  return gateway
}

async function mock(t: Test, options: MockUpstreamOptions = {}): Promise<MockUpstream> {
  const upstream = await startMockUpstream(options)
  t.teardown(upstream.close)
  return upstream
}

interface ChannelSpec {
  readonly name: string
  readonly base_url: string
  readonly keys: readonly string[]
  readonly models?: readonly string[]
  readonly priority?: number
  readonly provider?: string
  readonly settings?: Record<string, unknown>
}

/** Creates a channel through the admin API and waits until routing sees it. */
async function channel(gateway: TestGateway, spec: ChannelSpec): Promise<number> {
  const response = await gateway.inject({
    method: 'POST',
    url: '/api/admin/channels',
    headers: { authorization: 'Bearer root' },
    payload: { provider: 'openai', models: [MODEL], groups: ['default'], priority: 0, weight: 1, ...spec },
  })
  if (response.statusCode !== 201) throw new Error(`channel ${spec.name}: HTTP ${response.statusCode} ${response.body}`)
  const id = (response.json() as { id: number }).id
  await until(() => gateway.catalog.current().channels.some(c => c.id === id), `channel ${spec.name} in the snapshot`)
  return id
}

async function until(check: () => boolean, what: string, withinMs = 3000): Promise<void> {
  const deadline = Date.now() + withinMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

function client(gateway: TestGateway, path = '/v1'): OpenAI {
  return new OpenAI({ apiKey: CALLER, baseURL: `${gateway.url}${path}`, maxRetries: 0, timeout: 15_000 })
}

/** A non-streamed chat through the SDK: the answer's text, or the APIError. */
async function ask(gateway: TestGateway, model = MODEL, path = '/v1'): Promise<{ text?: string; error?: APIError }> {
  try {
    const completion = await client(gateway, path).chat.completions.create({ model, messages: MESSAGES })
    // Not every 200 is a chat completion (a relayed non-answer has no choices): show it whole.
    const text = completion.choices?.[0]?.message.content ?? JSON.stringify(completion)
    clientTexts.push(text)
    return { text }
  } catch (error) {
    if (!(error instanceof APIError)) throw error
    clientTexts.push(error.message, JSON.stringify(error.error ?? null))
    return { error }
  }
}

/** A streamed chat through the SDK, read to its end: the text received, and the error that ended it if any. */
async function askStream(
  gateway: TestGateway,
  model = MODEL,
  options: { signal?: AbortSignal; onText?: (text: string) => void } = {},
): Promise<{ text: string; error?: unknown }> {
  let text = ''
  try {
    const stream = await client(gateway).chat.completions.create(
      { model, messages: MESSAGES, stream: true },
      options.signal ? { signal: options.signal } : {},
    )
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? ''
      options.onText?.(text)
    }
    clientTexts.push(text)
    return { text }
  } catch (error) {
    clientTexts.push(text, String((error as Error).message), JSON.stringify((error as APIError).error ?? null))
    return { text, error }
  }
}

interface RawAnswer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly ms: number
}

/** A raw POST over the gateway's socket: status, headers and the whole body as text. */
async function raw(
  gateway: TestGateway,
  body: Record<string, unknown>,
  path = '/v1/chat/completions',
  signal?: AbortSignal,
): Promise<RawAnswer> {
  const started = Date.now()
  const response = await fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${CALLER}` },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  })
  const text = await response.text()
  clientTexts.push(text)
  return { status: response.status, headers: response.headers, text, ms: Date.now() - started }
}

function json(text: string): { error?: { type?: unknown; message?: unknown; code?: unknown } } {
  try {
    return JSON.parse(text) as { error?: { type?: unknown; message?: unknown } }
  } catch {
    return {}
  }
}

interface UsageRow {
  readonly ip: string
  readonly channel_id: number | null
  readonly channel_name: string | null
  readonly prompt_tokens: number
  readonly completion_tokens: number
  readonly estimated: number | boolean
  readonly status: string
  readonly error_type: string | null
  readonly stream: number | boolean
}

/** Waits until `count` usage rows are written (streams record when they end) and returns them. */
async function rows(gateway: TestGateway, count: number, withinMs = 3000): Promise<UsageRow[]> {
  const deadline = Date.now() + withinMs
  for (;;) {
    await gateway.usage.flush()
    const found = (await gateway.db.em().getConnection().execute('select * from usage_logs order by id')) as UsageRow[]
    if (found.length >= count) return found
    if (Date.now() > deadline) throw new Error(`expected ${count} usage rows, found ${found.length}`)
    await sleep(20)
  }
}

const keysOf = (upstream: MockUpstream) => upstream.requests.filter(r => r.path !== '/v1/models').map(r => r.apiKey)

/** An upstream that answers every request with `answer` (given the Bearer key it was sent), for answers the mock cannot give. */
async function rawUpstream(
  t: Test,
  answer: (res: http.ServerResponse, apiKey: string) => void,
): Promise<{ url: string; hits: () => number }> {
  let hits = 0
  const server = http.createServer((req, res) => {
    hits++
    req.resume()
    req.on('end', () => answer(res, /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? ''))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    return new Promise<void>(resolve => server.close(() => resolve()))
  })
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/v1`, hits: () => hits }
}

/** A 200 whose body is not JSON, as a misconfigured proxy in front of an upstream sends. */
const garbageServer = (t: Test) =>
  rawUpstream(
    t,
    res => void res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>502 Bad Gateway (nginx)</body>'),
  )

/** A TCP server that accepts and never says a word: a TLS handshake with it hangs. */
async function silentServer(t: Test): Promise<{ port: number; accepted: () => number }> {
  let accepted = 0
  const sockets = new Set<net.Socket>()
  const server = net.createServer(socket => {
    accepted++
    sockets.add(socket)
    socket.on('error', () => undefined)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const socket of sockets) socket.destroy()
    return new Promise<void>(resolve => server.close(() => resolve()))
  })
  return { port: (server.address() as net.AddressInfo).port, accepted: () => accepted }
}

// ---------------------------------------------------------------- 1. key failover

t.test('key failover: a key that fails before answering is replaced by the next key of the channel', async t => {
  const gateway = await boot(t)
  const a = key('a')
  const b = key('b')
  const upstream = await mock(t, { keys: [a, b], defaultBehaviour: { text: 'served by B' } })
  const cases = [
    { label: '429', behaviour: { status: 429 } },
    { label: '500', behaviour: { status: 500 } },
    { label: '503', behaviour: { status: 503 } },
    { label: 'hang-up before headers', behaviour: { hangup: true as const } },
    { label: 'headers, then a drop before any chunk', behaviour: { dropAfterChunks: 0 }, streamOnly: true },
  ]
  for (const [index, { label, behaviour, streamOnly }] of cases.entries()) {
    for (const stream of streamOnly ? [true] : [false, true]) {
      t.test(`${label}, ${stream ? 'streamed' : 'not streamed'}`, async t => {
        // A channel (and model) of its own, so key rotation and cooling start afresh.
        const model = `m-${index}-${stream ? 's' : 'n'}`
        await channel(gateway, { name: `keys-${model}`, base_url: upstream.url, keys: [a, b], models: [model] })
        const before = upstream.requests.length
        upstream.reply(behaviour)
        const result = stream ? await askStream(gateway, model) : await ask(gateway, model)
        t.equal(result.error, undefined, 'the client never sees the failure')
        t.equal(result.text, 'served by B')
        const seen = upstream.requests.slice(before)
        t.same(
          seen.map(r => r.apiKey),
          [a, b],
          'key A, then key B, and nothing else',
        )
        t.equal(seen[1]?.status, 200)
        t.equal(upstream.pending, 0)
      })
    }
  }
})

// ---------------------------------------------------------------- 2. channel failover

t.test(
  'channel failover: when every key of the higher-priority channel fails, the lower-priority channel serves',
  async t => {
    const gateway = await boot(t)
    const [p1, p2, b1] = [key('p1'), key('p2'), key('b1')]
    const primary = await mock(t, { keys: [p1, p2], defaultBehaviour: { status: 503 } })
    const backup = await mock(t, { keys: [b1], defaultBehaviour: { text: 'from the backup' } })
    await channel(gateway, { name: 'primary', base_url: primary.url, keys: [p1, p2], priority: 10 })
    const backupId = await channel(gateway, { name: 'backup', base_url: backup.url, keys: [b1], priority: 0 })

    t.same(await ask(gateway), { text: 'from the backup' })
    t.same(keysOf(primary).sort(), [p1, p2].sort(), 'both primary keys were tried once')
    t.same(keysOf(backup), [b1])

    const streamed = await askStream(gateway)
    t.same(streamed, { text: 'from the backup' }, 'streamed too')
    t.equal(primary.requests.length, 4)
    t.equal(backup.requests.length, 2)

    const [first, second] = await rows(gateway, 2)
    t.match(first, { channel_id: backupId, channel_name: 'backup', status: 'success', error_type: null })
    t.match(second, { channel_id: backupId, channel_name: 'backup', status: 'success', error_type: null })
  },
)

// ---------------------------------------------------------------- 3. cooling

t.test('an upstream 401 cools the key: later calls do not try it again', async t => {
  const gateway = await boot(t)
  const [bad, good] = [key('revoked'), key('good')]
  const upstream = await mock(t, { keys: [good] })
  await channel(gateway, { name: 'one-bad-key', base_url: upstream.url, keys: [bad, good] })
  for (let i = 0; i < 4; i++) t.same(await ask(gateway), { text: 'ok' }, `call ${i + 1} succeeds`)
  t.same(keysOf(upstream), [bad, good, good, good, good], 'the refused key was tried once only')
  t.equal(upstream.requests[0]?.status, 401)
})

t.test('an upstream 429 with retry-after: 1 cools the key about a second, then it comes back by itself', async t => {
  const gateway = await boot(t)
  const [a, b] = [key('a'), key('b')]
  const upstream = await mock(t, { keys: [a, b] })
  await channel(gateway, { name: 'rate-limited', base_url: upstream.url, keys: [a, b] })
  upstream.reply({ status: 429, retryAfter: 1 })
  for (let i = 0; i < 3; i++) t.same(await ask(gateway), { text: 'ok' })
  t.same(keysOf(upstream), [a, b, b, b], 'key A sits out while it cools (the third call would have started with it)')
  await sleep(1200)
  for (let i = 0; i < 2; i++) t.same(await ask(gateway), { text: 'ok' })
  const after = upstream.requests.slice(4)
  t.ok(
    after.some(r => r.apiKey === a && r.status === 200),
    'key A serves again after its retry-after',
  )
  t.equal(after.length, 2, 'no failed attempts after the cooldown')
})

// ---------------------------------------------------------------- 4. never after the first byte

t.test('a stream that breaks off mid-answer ends with an error frame and is never retried', async t => {
  const gateway = await boot(t)
  const [a, b] = [key('a'), key('b')]
  const upstream = await mock(t, { keys: [a, b] })
  await channel(gateway, { name: 'drops', base_url: upstream.url, keys: [a, b] })
  upstream.reply({ text: 'alpha beta gamma delta epsilon zeta', dropAfterChunks: 3 })
  const texts: string[] = []
  const result = await askStream(gateway, MODEL, { onText: text => texts.push(text) })
  t.equal(result.text, 'alpha beta', 'the deltas before the drop reached the client')
  t.ok(texts.length > 0, 'deltas were received before the error')
  t.ok(result.error instanceof APIError, 'the SDK raises an APIError from the error frame')
  t.match((result.error as APIError).error, { type: 'upstream_error', message: String })
  t.equal(upstream.requests.length, 1, 'one upstream request: no retry after the first byte')
  const [row] = await rows(gateway, 1)
  t.match(row, { status: 'error', error_type: 'upstream_error', channel_name: 'drops' })
  t.ok(Boolean(row?.estimated), 'tokens are estimated')
  t.ok((row?.prompt_tokens ?? 0) > 0 && (row?.completion_tokens ?? 0) > 0, 'estimated tokens > 0')
})

// ---------------------------------------------------------------- 5. chat routes

t.test('chat-routed portal traffic fails over between the keys of its channel only', async t => {
  const gateway = await boot(t)
  const [r1, r2, o1] = [key('r1'), key('r2'), key('o1')]
  const routed = await mock(t, { keys: [r1, r2], defaultBehaviour: { text: 'from the routed channel' } })
  const other = await mock(t, { keys: [o1], defaultBehaviour: { text: 'from the other channel' } })
  const routedId = await channel(gateway, { name: 'routed', base_url: routed.url, keys: [r1, r2], priority: 0 })
  await channel(gateway, { name: 'other', base_url: other.url, keys: [o1], priority: 10 })
  const route = await gateway.inject({
    method: 'POST',
    url: '/api/admin/chat-routes',
    headers: { authorization: 'Bearer root' },
    payload: { group_name: 'default', channel_id: routedId },
  })
  t.ok(route.statusCode < 300, `chat route created (${route.statusCode})`)
  await until(() => gateway.catalog.current().chatRoutes.get('default') === routedId, 'the chat route')

  routed.script([{ status: 500 }, { status: 503 }])
  const failed = await ask(gateway, MODEL, '/api')
  t.ok(failed.error, 'every key of the routed channel failed: the portal call fails')
  t.ok([502, 503].includes(failed.error?.status ?? 0), `502/503, got ${failed.error?.status}`)
  t.equal(failed.error?.type, 'upstream_error')
  t.same(keysOf(routed).sort(), [r1, r2].sort(), 'both routed keys were tried')
  t.equal(other.requests.length, 0, 'the other channel was not used, though it could have served')

  routed.reply({ status: 500 })
  t.same(
    await ask(gateway, MODEL, '/api'),
    { text: 'from the routed channel' },
    'one key failing: the other key of the routed channel serves',
  )
  t.equal(routed.requests.length, 4)
  t.equal(other.requests.length, 0)

  t.same(await ask(gateway), { text: 'from the other channel' }, '/v1 traffic of the same group is not chat-routed')
})

// ---------------------------------------------------------------- 6. all attempts fail

t.test('when every attempt fails the client gets an upstream_error envelope, never a 500', async t => {
  const gateway = await boot(t, { max_attempts: 4 })
  const cases = [
    { label: '500 everywhere', behaviour: { status: 500 }, expect: [502] },
    { label: '502 everywhere', behaviour: { status: 502 }, expect: [502] },
    { label: 'hang-ups everywhere', behaviour: { hangup: true as const }, expect: [502] },
    { label: '429 without retry-after', behaviour: { status: 429 }, expect: [503] },
  ]
  for (const [index, { label, behaviour, expect }] of cases.entries()) {
    for (const stream of [false, true]) {
      t.test(`${label}, ${stream ? 'streamed' : 'not streamed'}`, async t => {
        const [k1, k2] = [key('k1'), key('k2')]
        const upstream = await mock(t, { keys: [k1, k2], defaultBehaviour: behaviour })
        const model = `all-${index}-${stream ? 's' : 'n'}`
        await channel(gateway, { name: model, base_url: upstream.url, keys: [k1, k2], models: [model] })
        const answer = await raw(gateway, { model, messages: MESSAGES, stream })
        t.ok(expect.includes(answer.status), `status ${answer.status}`)
        t.not(answer.status, 500)
        t.match(answer.headers.get('content-type'), /application\/json/)
        const body = json(answer.text)
        t.match(body, { error: { type: 'upstream_error', message: String } }, answer.text)
        t.same(keysOf(upstream).sort(), [k1, k2].sort(), 'each key tried once')
      })
    }
  }

  t.test('429 with retry-after on every key: 503 with Retry-After', async t => {
    const [k1, k2] = [key('k1'), key('k2')]
    const upstream = await mock(t, { keys: [k1, k2], defaultBehaviour: { status: 429, retryAfter: 7 } })
    await channel(gateway, { name: 'busy', base_url: upstream.url, keys: [k1, k2], models: ['busy'] })
    const answer = await raw(gateway, { model: 'busy', messages: MESSAGES })
    t.equal(answer.status, 503)
    t.match(json(answer.text), { error: { type: 'upstream_error', message: String } })
    t.equal(answer.headers.get('retry-after'), '7')
    const sdk = await ask(gateway, 'busy')
    t.equal(sdk.error?.status, 503, 'the SDK sees a 503 (cooling keys are still tried last)')
    t.equal(sdk.error?.headers?.get('retry-after'), '7')
  })

  t.test('the usage row of a call whose every attempt failed', async t => {
    const all = await rows(gateway, 10)
    const last = all.at(-1)
    t.match(last, { status: 'error', error_type: 'upstream_rate_limit', channel_name: 'busy' })
  })
})

t.test('max_attempts caps the upstream requests of one call, keys and channels together', async t => {
  const gateway = await boot(t, { max_attempts: 3 })
  const keys = [key('k1'), key('k2'), key('k3'), key('k4')]
  const spare = key('spare')
  const upstream = await mock(t, { keys: [...keys, spare], defaultBehaviour: { status: 500 } })
  await channel(gateway, { name: 'many-keys', base_url: upstream.url, keys, priority: 5 })
  await channel(gateway, { name: 'spare', base_url: upstream.url, keys: [spare], priority: 0 })
  const answer = await raw(gateway, { model: MODEL, messages: MESSAGES })
  t.equal(answer.status, 502)
  t.match(json(answer.text), { error: { type: 'upstream_error' } })
  t.equal(upstream.requests.length, 3, 'three attempts, not five')
  t.notOk(keysOf(upstream).includes(spare))
})

// ---------------------------------------------------------------- 7. timeouts

t.test('first-byte timeout', async t => {
  const gateway = await boot(t, { first_byte_timeout_ms: 300 })

  t.test('slow headers on key A: key B serves', async t => {
    const [a, b] = [key('a'), key('b')]
    const upstream = await mock(t, { keys: [a, b] })
    await channel(gateway, { name: 'slow-a', base_url: upstream.url, keys: [a, b], models: ['slow-a'] })
    upstream.reply({ slowHeadersMs: 3000 })
    const started = Date.now()
    t.same(await ask(gateway, 'slow-a'), { text: 'ok' })
    const took = Date.now() - started
    t.ok(took >= 250 && took < 1500, `served after the first-byte timeout (${took} ms)`)
    t.same(keysOf(upstream), [a, b])
    const aborted = await upstream.waitForAbort(1000)
    t.equal(aborted.apiKey, a, 'the slow request was aborted')
  })

  t.test('every key slow: 504 upstream_error', async t => {
    const [a, b] = [key('a'), key('b')]
    const upstream = await mock(t, { keys: [a, b], defaultBehaviour: { slowHeadersMs: 5000 } })
    await channel(gateway, { name: 'slow-all', base_url: upstream.url, keys: [a, b], models: ['slow-all'] })
    for (const stream of [false, true]) {
      const answer = await raw(gateway, { model: 'slow-all', messages: MESSAGES, stream })
      t.equal(answer.status, 504, `stream: ${stream}`)
      t.match(json(answer.text), { error: { type: 'upstream_error', message: String } })
      t.ok(answer.ms >= 550 && answer.ms < 2000, `two attempts of ~300 ms (${answer.ms} ms)`)
    }
    t.equal(upstream.requests.length, 4)
  })

  t.test('a stream whose headers came but no chunk counts as no first byte', async t => {
    const [a, b] = [key('a'), key('b')]
    const upstream = await mock(t, { keys: [a, b], defaultBehaviour: { text: 'second key speaks' } })
    await channel(gateway, { name: 'mute-stream', base_url: upstream.url, keys: [a, b], models: ['mute-stream'] })
    upstream.reply({ delayFirstByteMs: 3000 })
    const started = Date.now()
    const result = await askStream(gateway, 'mute-stream')
    t.same(result, { text: 'second key speaks' })
    t.ok(Date.now() - started < 1500)
    t.same(keysOf(upstream), [a, b])
    t.equal(upstream.requests[0]?.status, 200, 'the first key had sent its headers')
  })

  t.test('the usage row of a call that timed out names the timeout', async t => {
    const all = await rows(gateway, 4)
    t.match(
      all.filter(r => r.status === 'error').map(r => r.error_type),
      ['timeout', 'timeout'],
    )
  })
})

t.test('idle timeout mid-stream: the stream ends with an error event, the row says timeout', async t => {
  const gateway = await boot(t, { idle_timeout_ms: 300 })
  const [a, b] = [key('a'), key('b')]
  const upstream = await mock(t, { keys: [a, b] })
  await channel(gateway, { name: 'stalls', base_url: upstream.url, keys: [a, b] })
  upstream.reply({ text: 'one two three four five', chunkDelayMs: 1500 })
  const started = Date.now()
  const result = await askStream(gateway)
  const took = Date.now() - started
  t.ok(result.error instanceof APIError, 'the stream ended with an error event')
  t.match((result.error as APIError).error, { type: 'timeout' })
  t.ok(took >= 250 && took < 1400, `ended at the idle timeout (${took} ms)`)
  t.equal(upstream.requests.length, 1, 'not retried')
  const [row] = await rows(gateway, 1)
  t.match(row, { status: 'error', error_type: 'timeout' })
})

t.test('total timeout: a slow but steady stream ends at total_timeout_ms', async t => {
  const gateway = await boot(t, { total_timeout_ms: 1000, idle_timeout_ms: 900, first_byte_timeout_ms: 900 })
  const k = key('k')
  const upstream = await mock(t, { keys: [k] })
  await channel(gateway, { name: 'dawdles', base_url: upstream.url, keys: [k] })
  upstream.reply({ text: 'a b c d e f g h i j k l', chunkDelayMs: 300 })
  const started = Date.now()
  const result = await askStream(gateway)
  const took = Date.now() - started
  t.ok(result.error instanceof APIError, 'the stream ended with an error event')
  t.match((result.error as APIError | undefined)?.error, { type: 'timeout' })
  t.ok(result.text.length > 0, 'some text arrived first')
  t.ok(took >= 900 && took < 1800, `ended at the total timeout (${took} ms)`)
  const [row] = await rows(gateway, 1)
  t.match(row, { status: 'error', error_type: 'timeout' })
  await upstream.waitForAbort(1000)
})

t.test('connect timeout: a TLS handshake that hangs fails within connect_timeout_ms', async t => {
  const gateway = await boot(t, { connect_timeout_ms: 300, first_byte_timeout_ms: 8000 })
  const silent = await silentServer(t)
  const [s1, s2, b1] = [key('s1'), key('s2'), key('b1')]
  await channel(gateway, {
    name: 'black-hole',
    base_url: `https://127.0.0.1:${silent.port}/v1`,
    keys: [s1, s2],
    models: ['hole'],
  })

  const answer = await raw(gateway, { model: 'hole', messages: MESSAGES })
  t.ok([502, 504].includes(answer.status), `status ${answer.status}`)
  t.match(json(answer.text), { error: { type: 'upstream_error' } })
  // undici runs its connect timer on a ~0.5 s tick, so 300 ms fires after 0.5–1 s: two attempts
  // take up to ~2 s, far from the 8 s first-byte timeout or the 10 s default connect timeout.
  t.ok(answer.ms < 3500, `two attempts of ~connect_timeout_ms, not the first-byte timeout (${answer.ms} ms)`)
  t.ok(silent.accepted() >= 2, 'both keys tried to connect')

  const backup = await mock(t, { keys: [b1], defaultBehaviour: { text: 'backup' } })
  await channel(gateway, {
    name: 'hole-2',
    base_url: `https://127.0.0.1:${silent.port}/v1`,
    keys: [s1],
    models: ['hole-or-backup'],
    priority: 10,
  })
  await channel(gateway, { name: 'backup', base_url: backup.url, keys: [b1], models: ['hole-or-backup'], priority: 0 })
  const started = Date.now()
  t.same(await ask(gateway, 'hole-or-backup'), { text: 'backup' }, 'fails over to the next channel')
  t.ok(Date.now() - started < 2500, `within about the connect timeout (${Date.now() - started} ms)`)
})

// ---------------------------------------------------------------- 8. client disconnect

t.test('client disconnect', async t => {
  const gateway = await boot(t)
  const [a, b] = [key('a'), key('b')]
  const upstream = await mock(t, { keys: [a, b] })
  await channel(gateway, { name: 'long-answers', base_url: upstream.url, keys: [a, b] })
  const long = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ')
  let rowCount = 0

  t.test('the SDK aborts a stream mid-answer', async t => {
    upstream.reply({ text: long, chunkDelayMs: 50 })
    const controller = new AbortController()
    const before = upstream.requests.length
    const result = await askStream(gateway, MODEL, {
      signal: controller.signal,
      onText: text => text.split(' ').length >= 3 && controller.abort(),
    })
    t.equal(result.error, undefined, 'the SDK ends the loop quietly on abort')
    t.ok(result.text.startsWith('word0 word1'))
    const aborted = await upstream.waitForAbort(1000)
    t.equal(aborted, upstream.requests[before], 'the upstream request was aborted')
    await sleep(200)
    t.equal(upstream.requests.length, before + 1, 'no other attempt was made')
    const row = (await rows(gateway, ++rowCount)).at(-1)
    t.match(row, { status: 'aborted', error_type: 'client_closed', channel_name: 'long-answers' })
  })

  t.test('a raw client destroys its socket mid-stream', async t => {
    upstream.reply({ text: long, chunkDelayMs: 50 })
    const port = Number(new URL(gateway.url as string).port)
    await new Promise<void>((resolve, reject) => {
      const request = http.request(
        {
          host: '127.0.0.1',
          port,
          path: '/v1/chat/completions',
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${CALLER}` },
        },
        response => {
          let seen = ''
          response.on('data', (chunk: Buffer) => {
            seen += chunk.toString('utf8')
            if (seen.includes('word2')) {
              request.destroy()
              resolve()
            }
          })
          response.on('error', () => undefined)
        },
      )
      request.on('error', error => ((error as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(error)))
      request.end(JSON.stringify({ model: MODEL, messages: MESSAGES, stream: true }))
    })
    const aborted = await upstream.waitForAbort(1000)
    t.equal(aborted.outcome, 'aborted')
    const row = (await rows(gateway, ++rowCount)).at(-1)
    // The client's address is kept although its socket is gone by the time the row is made.
    t.match(row, { status: 'aborted', error_type: 'client_closed', ip: /127\.0\.0\.1$/ })
  })

  for (const stream of [true, false]) {
    t.test(
      `the client leaves while Parley waits for the first byte (${stream ? 'streamed' : 'not streamed'})`,
      async t => {
        upstream.reply({ slowHeadersMs: 5000 })
        const before = upstream.requests.length
        const controller = new AbortController()
        const call = raw(
          gateway,
          { model: MODEL, messages: MESSAGES, stream },
          '/v1/chat/completions',
          controller.signal,
        ).catch((error: unknown) => error)
        await until(() => upstream.requests.length > before, 'the upstream request')
        controller.abort()
        t.ok((await call) instanceof Error, 'the client gave up')
        const aborted = await upstream.waitForAbort(1000)
        t.equal(aborted, upstream.requests[before])
        await sleep(200)
        t.equal(upstream.requests.length, before + 1, 'no failover for a client that left')
        const row = (await rows(gateway, ++rowCount)).at(-1)
        t.match(row, { status: 'aborted', error_type: 'client_closed', ip: /127\.0\.0\.1$/ })
      },
    )
  }
})

t.test('a slow reader: the answer waits for the client, and that wait is not the upstream idling', async t => {
  // An idle timeout of 3 s, not 1: the upstream (in this process) must never really idle that
  // long while the whole suite runs in parallel on a slow two-core machine (1 s did, once).
  const gateway = await boot(t, { idle_timeout_ms: 3000 })
  const k = key('k')
  const upstream = await mock(t, { keys: [k] })
  await channel(gateway, { name: 'big-answers', base_url: upstream.url, keys: [k] })
  // About 14 MB of frames: more than the loopback socket buffers between Parley and the client
  // hold, so Parley has to wait for the client to read (and hold the upstream back meanwhile).
  const word = 'x'.repeat(200)
  const words = 40_000
  upstream.reply({ text: Array.from({ length: words }, () => word).join(' ') })
  const port = Number(new URL(gateway.url as string).port)
  const body = await new Promise<string>((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/chat/completions',
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${CALLER}` },
      },
      response => {
        const chunks: Buffer[] = []
        response.once('data', (chunk: Buffer) => {
          chunks.push(chunk)
          // Two idle timeouts and more without reading.
          response.pause()
          setTimeout(() => {
            response.on('data', (more: Buffer) => chunks.push(more))
            response.resume()
          }, 7000)
        })
        response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
        response.on('error', reject)
      },
    )
    request.on('error', reject)
    request.end(JSON.stringify({ model: MODEL, messages: MESSAGES, stream: true }))
  })
  t.notMatch(
    body,
    /"error"/,
    'no error event: the time spent waiting for the client is not counted against the upstream',
  )
  t.ok(body.endsWith('data: [DONE]\n\n'), 'the stream ended normally')
  t.equal(body.split(word).length - 1, words, 'every word arrived')
  const [row] = await rows(gateway, 1)
  t.match(row, { status: 'success', stream: 1 })
})

// ---------------------------------------------------------------- 9. broken answers

t.test('an answer that is not JSON gives 502 upstream_error, or fails over', async t => {
  const gateway = await boot(t)
  const garbage = await garbageServer(t)
  const [g1, g2, b1] = [key('g1'), key('g2'), key('b1')]
  await channel(gateway, { name: 'garbage', base_url: garbage.url, keys: [g1], models: ['garbage'] })
  const answer = await raw(gateway, { model: 'garbage', messages: MESSAGES })
  t.equal(answer.status, 502)
  t.match(json(answer.text), { error: { type: 'upstream_error', message: String } })
  const viaSdk = await ask(gateway, 'garbage')
  t.equal(viaSdk.error?.status, 502)
  t.equal(garbage.hits(), 2)

  const backup = await mock(t, { keys: [b1], defaultBehaviour: { text: 'valid json' } })
  await channel(gateway, { name: 'garbage-first', base_url: garbage.url, keys: [g2], models: ['mixed'], priority: 10 })
  await channel(gateway, { name: 'valid', base_url: backup.url, keys: [b1], models: ['mixed'], priority: 0 })
  t.same(await ask(gateway, 'mixed'), { text: 'valid json' }, 'fails over to a channel that answers JSON')
  t.equal(garbage.hits(), 3)

  const [rowGarbage] = await rows(gateway, 1)
  t.match(rowGarbage, { status: 'error', error_type: 'upstream_error', channel_name: 'garbage' })
})

t.test('a refused connection fails over to the next channel, or gives 502 upstream_error', async t => {
  const gateway = await boot(t)
  const closed = `http://127.0.0.1:${await freePort()}/v1`
  const [c1, c2, b1] = [key('c1'), key('c2'), key('b1')]
  await channel(gateway, { name: 'nobody-home', base_url: closed, keys: [c1, c2], models: ['closed'] })
  const answer = await raw(gateway, { model: 'closed', messages: MESSAGES, stream: true })
  t.equal(answer.status, 502)
  t.match(json(answer.text), { error: { type: 'upstream_error', message: String } })

  const backup = await mock(t, { keys: [b1], defaultBehaviour: { text: 'still here' } })
  await channel(gateway, {
    name: 'nobody-home-2',
    base_url: closed,
    keys: [c1],
    models: ['closed-or-backup'],
    priority: 10,
  })
  await channel(gateway, {
    name: 'still-here',
    base_url: backup.url,
    keys: [b1],
    models: ['closed-or-backup'],
    priority: 0,
  })
  t.same(await askStream(gateway, 'closed-or-backup'), { text: 'still here' })
})

t.test('a redirect is not an answer: it fails over like any other failure before the first byte', async t => {
  const gateway = await boot(t)
  // What an http:// base URL gets from a server that moved to https (redirects are never followed).
  const nginx = await rawUpstream(
    t,
    res =>
      void res
        .writeHead(301, { location: 'https://api.example.com/v1/chat/completions', 'content-type': 'text/html' })
        .end('<html><head><title>301 Moved Permanently</title></head></html>'),
  )
  const jsonRedirect = await rawUpstream(
    t,
    res =>
      void res
        .writeHead(307, { location: 'https://api.example.com/v1/chat/completions', 'content-type': 'application/json' })
        .end('{"moved":"https://api.example.com"}'),
  )
  const b1 = key('b1')
  const backup = await mock(t, { keys: [b1], defaultBehaviour: { text: 'backup' } })
  await channel(gateway, { name: 'moved', base_url: nginx.url, keys: [key('m')], models: ['moved'], priority: 10 })
  await channel(gateway, {
    name: 'moved-json',
    base_url: jsonRedirect.url,
    keys: [key('j')],
    models: ['moved-json'],
    priority: 10,
  })
  await channel(gateway, {
    name: 'backup',
    base_url: backup.url,
    keys: [b1],
    models: ['moved', 'moved-json'],
    priority: 0,
  })

  t.same(await ask(gateway, 'moved'), { text: 'backup' }, 'not streamed: the HTML body is no answer, the backup serves')
  t.same(await askStream(gateway, 'moved'), { text: 'backup' }, 'streamed: the backup serves')
  t.same(await ask(gateway, 'moved-json'), { text: 'backup' }, 'a 307 with a JSON body is not relayed as a 200 answer')
  t.equal(nginx.hits(), 2)
  t.equal(jsonRedirect.hits(), 1)
})

t.test('a stream that ends cleanly before its first byte fails over (nothing was sent yet)', async t => {
  const gateway = await boot(t)
  const silentEnd = await rawUpstream(t, res => void res.writeHead(200, { 'content-type': 'text/event-stream' }).end())
  const b1 = key('b1')
  const backup = await mock(t, { keys: [b1], defaultBehaviour: { text: 'backup' } })
  await channel(gateway, { name: 'empty', base_url: silentEnd.url, keys: [key('e')], priority: 10 })
  await channel(gateway, { name: 'backup', base_url: backup.url, keys: [b1], priority: 0 })
  t.same(await ask(gateway), { text: 'backup' }, 'not streamed: an empty body fails over')
  t.same(await askStream(gateway), { text: 'backup' }, 'streamed: an empty stream fails over too')
  t.equal(backup.requests.length, 2, 'the backup served both calls')
})

t.test('a non-streamed answer cut in half fails over to the next key', async t => {
  const gateway = await boot(t)
  const [a, b] = [key('a'), key('b')]
  const upstream = await mock(t, { keys: [a, b], defaultBehaviour: { text: 'whole answer' } })
  await channel(gateway, { name: 'halves', base_url: upstream.url, keys: [a, b] })
  upstream.reply({ text: 'half an answer', dropAfterChunks: 1 })
  t.same(await ask(gateway), { text: 'whole answer' })
  t.same(keysOf(upstream), [a, b])
})

// ---------------------------------------------------------------- 10. secrets

t.test('an upstream 400 whose message quotes the key reaches the client masked', async t => {
  const gateway = await boot(t)
  const k = key('quoted')
  const upstream = await mock(t, { keys: [k] })
  await channel(gateway, { name: 'quotes-keys', base_url: upstream.url, keys: [k] })
  await channel(gateway, {
    name: 'quotes-keys-translated',
    base_url: upstream.url,
    keys: [k],
    models: ['translated'],
    settings: { responses_api: 'translate' },
  })
  const message = `Incorrect API key provided: ${k}. You can find your API key at https://platform.openai.com/account/api-keys.`

  upstream.reply({ status: 400, message, code: 'invalid_request_error' })
  const plain = await raw(gateway, { model: MODEL, messages: MESSAGES })
  t.equal(plain.status, 400, 'a refusal of the request itself is passed on')
  t.notOk(plain.text.includes(k), plain.text)
  t.match(json(plain.text), { error: { message: /Incorrect API key provided: \*\*\*/ } })

  upstream.reply({ status: 400, message })
  const sdk = await ask(gateway)
  t.equal(sdk.error?.status, 400)
  t.notOk(sdk.error?.message.includes(k))

  upstream.reply({ status: 400, message })
  const translated = await raw(gateway, { model: 'translated', input: 'hello' }, '/v1/responses')
  t.equal(translated.status, 400, 'the translating path passes the refusal on too')
  t.notOk(translated.text.includes(k), translated.text)
  t.match(json(translated.text), { error: { message: /\*\*\*/ } })
  t.equal(upstream.requests.length, 3, 'a refusal of the request is not retried on another key')
  t.same(logsOf.get(gateway)?.containing(k), [], 'nor logged')
})

t.test(
  'an upstream 400 whose type, code and param quote the key: no field reaches the client or the log unmasked',
  async t => {
    const gateway = await boot(t)
    const k = key('fields')
    hostileKeys.add(k)
    const upstream = await mock(t, { keys: [k] })
    await channel(gateway, { name: 'quotes-keys-in-fields', base_url: upstream.url, keys: [k] })
    upstream.reply({
      status: 400,
      message: 'Invalid value',
      type: `invalid_key_${k}`,
      param: `key=${k}`,
      code: `key_${k}`,
    })
    const answer = await raw(gateway, { model: MODEL, messages: MESSAGES })
    t.equal(answer.status, 400)
    t.notOk(answer.text.includes(k), `the client's body: ${answer.text}`)
    t.same(logsOf.get(gateway)?.containing(k), [], 'no log line')
  },
)

t.test('an error frame that quotes the key mid-stream reaches the client masked', async t => {
  const gateway = await boot(t)
  const k = key('in-stream')
  hostileKeys.add(k)
  const chunk = {
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1,
    model: MODEL,
    choices: [{ index: 0, delta: { content: 'Hello' }, finish_reason: null }],
  }
  const upstream = await rawUpstream(t, (res, apiKey) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write(`data: ${JSON.stringify(chunk)}\n\n`)
    res.end(
      `data: ${JSON.stringify({ error: { message: `You exceeded your current quota for key ${apiKey}`, type: 'insufficient_quota', code: 'insufficient_quota' } })}\n\n`,
    )
  })
  await channel(gateway, { name: 'quota-in-stream', base_url: upstream.url, keys: [k] })
  await channel(gateway, {
    name: 'quota-in-stream-translated',
    base_url: upstream.url,
    keys: [k],
    models: ['translated'],
    settings: { responses_api: 'translate' },
  })

  const translated = await raw(gateway, { model: 'translated', input: 'hello', stream: true }, '/v1/responses')
  t.match(translated.text, /exceeded your current quota/, 'translated: the error reaches the client')
  t.notOk(translated.text.includes(k), 'translated: the key is masked')

  const result = await askStream(gateway)
  t.equal(result.text, 'Hello')
  t.ok(result.error instanceof APIError, 'passthrough: the upstream error frame ends the stream')
  const message = result.error instanceof APIError ? result.error.message : ''
  t.match(message, /exceeded your current quota/)
  t.notOk(message.includes(k), `passthrough: the key is masked: ${message}`)
  t.same(logsOf.get(gateway)?.containing(k), [], 'no log line')
  const all = await rows(gateway, 2)
  t.match(all, [
    { status: 'error', error_type: 'upstream_error' },
    { status: 'error', error_type: 'upstream_error' },
  ])
})

// ---------------------------------------------------------------- 11. translating path

t.test('translating path (a scripted provider)', async t => {
  const provider = scriptedProvider()
  const gateway = await boot(t, { first_byte_timeout_ms: 300 }, [providerPlugin('scripted', provider)])
  const scripted = (name: string, keys: string[]) =>
    channel(gateway, { name, provider: 'scripted', base_url: 'https://1.1.1.1/v1', keys, models: [name] })

  for (const stream of [false, true]) {
    t.test(
      `an error event before any output fails over to the next key (${stream ? 'streamed' : 'not streamed'})`,
      async t => {
        const name = `errors-first-${stream ? 's' : 'n'}`
        const [s1, s2] = [key('s1'), key('s2')]
        await scripted(name, [s1, s2])
        const before = provider.calls.length
        provider.reply(
          { events: [{ type: 'error', message: 'The engine is overloaded', status: 503 }] },
          {
            events: [
              { type: 'text', delta: 'second' },
              { type: 'done', finishReason: 'stop' },
            ],
          },
        )
        const result = stream ? await askStream(gateway, name) : await ask(gateway, name)
        t.same(result, { text: 'second' })
        t.same(
          provider.calls.slice(before).map(call => call.target.apiKey),
          [s1, s2],
        )
      },
    )
  }

  t.test('a provider that throws before any output fails over to the next key', async t => {
    const [s1, s2] = [key('s1'), key('s2')]
    await scripted('throws-first', [s1, s2])
    const before = provider.calls.length
    provider.reply({ throwAfter: 0 })
    t.same(await askStream(gateway, 'throws-first'), { text: 'ok' })
    t.same(
      provider.calls.slice(before).map(call => call.target.apiKey),
      [s1, s2],
    )
  })

  t.test(
    'not streamed, nothing is sent before the answer is whole: a throw after some output still fails over',
    async t => {
      const [s1, s2] = [key('s1'), key('s2')]
      await scripted('throws-late', [s1, s2])
      const before = provider.calls.length
      provider.reply({
        events: [
          { type: 'text', delta: 'half' },
          { type: 'text', delta: ' answer' },
          { type: 'done', finishReason: 'stop' },
        ],
        throwAfter: 1,
      })
      t.same(await ask(gateway, 'throws-late'), { text: 'ok' })
      t.same(
        provider.calls.slice(before).map(call => call.target.apiKey),
        [s1, s2],
      )
    },
  )

  t.test('a client that leaves mid-stream aborts the provider call', async t => {
    await scripted('leaves', [key('s1'), key('s2')])
    const before = provider.calls.length
    const events = Array.from({ length: 40 }, (_, i) => ({ type: 'text' as const, delta: `w${i} ` }))
    provider.reply({ events: [...events, { type: 'done', finishReason: 'stop' }], delayMs: 50 })
    const controller = new AbortController()
    const result = await askStream(gateway, 'leaves', {
      signal: controller.signal,
      onText: text => text.length > 6 && controller.abort(),
    })
    t.equal(result.error, undefined)
    await until(() => provider.calls[before]?.aborted === true, 'the provider call aborted', 1000)
    t.ok((provider.calls[before]?.emitted ?? 40) < 20, 'the provider stopped early')
    t.equal(provider.calls.length, before + 1, 'no other attempt')
  })

  t.test('a refusal of the request (not retryable) is not retried', async t => {
    const [s1, s2] = [key('s1'), key('s2')]
    await scripted('refused', [s1, s2])
    const before = provider.calls.length
    provider.reply({ events: [{ type: 'error', message: 'messages[0] is invalid', status: 400 }] })
    const result = await ask(gateway, 'refused')
    t.equal(result.error?.status, 400)
    t.equal(provider.calls.length, before + 1)
  })

  t.test('a provider that throws mid-stream: the client gets an error event, no retry', async t => {
    const [s1, s2] = [key('s1'), key('s2')]
    await scripted('throws', [s1, s2])
    const before = provider.calls.length
    provider.reply({
      events: [
        { type: 'text', delta: 'a' },
        { type: 'text', delta: 'b' },
        { type: 'text', delta: 'c' },
        { type: 'done', finishReason: 'stop' },
      ],
      throwAfter: 2,
    })
    const result = await askStream(gateway, 'throws')
    t.equal(result.text, 'ab')
    t.ok(result.error instanceof APIError)
    t.match((result.error as APIError).error, { type: 'upstream_error' })
    t.equal(provider.calls.length, before + 1)
  })

  for (const stream of [false, true]) {
    t.test(
      `a provider that ignores the abort signal still gets the client a 504 at first_byte_timeout_ms (${stream ? 'streamed' : 'not streamed'})`,
      async t => {
        const name = `deaf-${stream ? 's' : 'n'}`
        await scripted(name, [key('deaf')])
        provider.reply({ firstDelayMs: 2500, ignoreAbort: true })
        const answer = await raw(gateway, { model: name, messages: MESSAGES, stream })
        t.equal(answer.status, 504)
        t.match(json(answer.text), { error: { type: 'upstream_error' } })
        t.ok(answer.ms >= 250 && answer.ms < 1200, `at the first-byte timeout (${answer.ms} ms)`)
        t.equal(provider.calls.at(-1)?.aborted, true, 'the signal was aborted all the same')
      },
    )
  }

  t.test('usage rows of the translating path', async t => {
    const all = await rows(gateway, 9)
    const byChannel = new Map(all.map(row => [row.channel_name, row]))
    t.match(byChannel.get('throws'), { status: 'error', error_type: 'upstream_error' })
    t.match(byChannel.get('errors-first-n'), { status: 'success' })
    t.match(byChannel.get('deaf-n'), { status: 'error', error_type: 'timeout' })
    t.match(byChannel.get('leaves'), { status: 'aborted', error_type: 'client_closed' })
  })
})

// ---------------------------------------------------------------- 10. secrets, everywhere

t.test('no log line and no client-visible text of this file contains a channel key', async t => {
  t.ok(channelKeys.size > 50, `${channelKeys.size} keys made`)
  const lines = [...logsOf.values()].flatMap(logs => logs.lines)
  t.ok(lines.length > 100, `${lines.length} log lines captured at debug`)
  t.ok(
    lines.some(line => line.includes('upstream attempt failed')),
    'failed attempts were logged',
  )
  const secrets = [...channelKeys].filter(k => !hostileKeys.has(k))
  t.same(
    lines.filter(line => secrets.some(k => line.includes(k))),
    [],
    'no log line contains a key',
  )
  t.same(
    clientTexts.filter(text => secrets.some(k => text.includes(k))),
    [],
    'no client-visible text contains a key',
  )
})
