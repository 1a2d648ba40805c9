/**
 * The mock upstream keeps the OpenAI contract the gateway's tests rely on: raw HTTP checks with
 * fetch pin the wire format, and the official `openai` SDK (when installed) proves a real client
 * accepts it.
 */
import t, { type Test } from 'tap'
import { Pool } from 'undici'
import { startMockUpstream, type MockUpstream } from '@parley/core/testing'

const KEY = 'sk-mock-good'
type Json = Record<string, unknown>

async function mockFor(t: Test): Promise<MockUpstream> {
  const mock = await startMockUpstream({ keys: [KEY] })
  t.teardown(mock.close)
  return mock
}

function post(mock: MockUpstream, path: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(`${mock.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...init,
  })
}

const chat = (extra: Json = {}): Json => ({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'say hello to me' }],
  ...extra,
})

/** Parses an SSE body into its events: `event` (if any) and the raw `data`. */
function sse(text: string): { event: string | undefined; data: string }[] {
  if (!text.endsWith('\n\n'))
    throw new Error(`an SSE body must end with a blank line: ${JSON.stringify(text.slice(-40))}`)
  return text
    .split('\n\n')
    .filter(block => block !== '')
    .map(block => {
      const lines = block.split('\n')
      const event = lines.find(line => line.startsWith('event: '))?.slice(7)
      const data = lines
        .filter(line => line.startsWith('data: '))
        .map(line => line.slice(6))
        .join('\n')
      return { event, data }
    })
}

function chunks(text: string): Json[] {
  const events = sse(text)
  if (events.at(-1)?.data !== '[DONE]') throw new Error('a chat stream must end with data: [DONE]')
  return events.slice(0, -1).map(event => JSON.parse(event.data) as Json)
}

type Choice = { delta: Json; finish_reason: string | null; index: number }
const choicesOf = (chunk: Json) => chunk.choices as Choice[]

t.test('chat completion, non-streaming: the chat.completion object, the model echoed, the key recorded', async t => {
  const mock = await mockFor(t)
  mock.reply({ text: 'hello there', usage: { prompt: 5, completion: 2 } })
  const res = await post(mock, '/chat/completions', chat({ model: 'gpt-4o' }))
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^application\/json/)
  t.match(res.headers.get('x-request-id'), /^req_/)
  const body = (await res.json()) as Json
  t.match(body, {
    id: /^chatcmpl-/,
    object: 'chat.completion',
    created: Number,
    model: 'gpt-4o',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'hello there', refusal: null },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage: {
      prompt_tokens: 5,
      completion_tokens: 2,
      total_tokens: 7,
      completion_tokens_details: { reasoning_tokens: 0 },
    },
  })
  t.notOk(
    'reasoning_content' in ((body.choices as { message: Json }[])[0]?.message ?? {}),
    'no reasoning_content unless scripted',
  )
  t.equal(mock.requests.length, 1)
  t.match(mock.requests[0], {
    method: 'POST',
    path: '/v1/chat/completions',
    apiKey: KEY,
    stream: false,
    status: 200,
    outcome: 'completed',
  })
  t.equal(mock.requests[0]?.headers.authorization, `Bearer ${KEY}`)
  t.equal(mock.requests[0]?.body?.model, 'gpt-4o')
})

t.test('the default answer is "ok" with usage counted from the words', async t => {
  const mock = await mockFor(t)
  const body = (await (await post(mock, '/chat/completions', chat())).json()) as Json
  t.match(body, {
    choices: [{ message: { content: 'ok' } }],
    usage: { prompt_tokens: 4, completion_tokens: 1, total_tokens: 5 },
  })
})

t.test('chat completion, streaming: chunks, finish_reason, [DONE]; usage only when asked', async t => {
  const mock = await mockFor(t)
  const plain = await post(mock, '/chat/completions', chat({ stream: true }))
  t.match(plain.headers.get('content-type'), /^text\/event-stream/)
  mock.reply({ text: 'one two three' })
  const list = chunks(await (await post(mock, '/chat/completions', chat({ stream: true }))).text())
  t.ok(list.every(chunk => chunk.object === 'chat.completion.chunk' && chunk.model === 'gpt-4o-mini'))
  t.equal(new Set(list.map(chunk => chunk.id)).size, 1, 'one id for the whole stream')
  t.same(choicesOf(list[0]!)[0]?.delta, { role: 'assistant', content: '', refusal: null })
  t.equal(list.map(chunk => choicesOf(chunk)[0]?.delta.content ?? '').join(''), 'one two three')
  t.equal(choicesOf(list.at(-1)!)[0]?.finish_reason, 'stop')
  t.ok(
    list.every(chunk => !('usage' in chunk)),
    'no usage without stream_options.include_usage',
  )
  t.ok(chunks(await plain.text()).length > 0)

  mock.reply({ text: 'one two', usage: { prompt: 9, completion: 2 } })
  const withUsage = chunks(
    await (
      await post(mock, '/chat/completions', chat({ stream: true, stream_options: { include_usage: true } }))
    ).text(),
  )
  const last = withUsage.at(-1)!
  t.same(last.choices, [], 'the usage chunk has no choices')
  t.match(last.usage, { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 })
  t.ok(
    withUsage.slice(0, -1).every(chunk => chunk.usage === null),
    'every other chunk carries usage: null',
  )
})

t.test('usage: false reports no usage anywhere, so the gateway must estimate', async t => {
  const mock = await mockFor(t)
  mock.script([
    { text: 'hi', usage: false },
    { text: 'hi', usage: false },
  ])
  const body = (await (await post(mock, '/chat/completions', chat())).json()) as Json
  t.notOk('usage' in body)
  const list = chunks(
    await (
      await post(mock, '/chat/completions', chat({ stream: true, stream_options: { include_usage: true } }))
    ).text(),
  )
  t.ok(list.every(chunk => chunk.usage === null && choicesOf(chunk).length === 1))
})

t.test('reasoning_content: in the message, and as deltas before the content', async t => {
  const mock = await mockFor(t)
  mock.script([
    { text: 'answer', reasoning: 'thinking hard', usage: { prompt: 3, completion: 4, reasoning: 3 } },
    { text: 'answer', reasoning: 'thinking hard' },
  ])
  const body = (await (await post(mock, '/chat/completions', chat({ model: 'deepseek-reasoner' }))).json()) as Json
  t.match(body, {
    choices: [{ message: { content: 'answer', reasoning_content: 'thinking hard' } }],
    usage: { completion_tokens_details: { reasoning_tokens: 3 } },
  })
  const deltas = chunks(await (await post(mock, '/chat/completions', chat({ stream: true }))).text()).map(
    chunk => choicesOf(chunk)[0]?.delta ?? {},
  )
  const reasoning = deltas.filter(delta => typeof delta.reasoning_content === 'string')
  t.equal(reasoning.map(delta => delta.reasoning_content).join(''), 'thinking hard')
  t.ok(reasoning.every(delta => delta.content === null))
  const firstContent = deltas.findIndex(delta => typeof delta.content === 'string' && delta.content !== '')
  t.ok(firstContent > deltas.indexOf(reasoning.at(-1)!), 'content comes after the reasoning')
})

t.test('image content parts are accepted and recorded (chat and Responses)', async t => {
  const mock = await mockFor(t)
  const dataUrl = 'data:image/png;base64,iVBORw0KGgo='
  const content = [
    { type: 'text', text: 'what is this' },
    { type: 'image_url', image_url: { url: 'https://example.com/cat.png', detail: 'low' } },
    { type: 'image_url', image_url: { url: dataUrl } },
  ]
  t.equal((await post(mock, '/chat/completions', chat({ messages: [{ role: 'user', content }] }))).status, 200)
  t.same(mock.requests[0]?.images, ['https://example.com/cat.png', dataUrl])
  const input = [
    {
      role: 'user',
      content: [
        { type: 'input_text', text: 'and this' },
        { type: 'input_image', image_url: dataUrl },
      ],
    },
  ]
  t.equal((await post(mock, '/responses', { model: 'gpt-4o', input })).status, 200)
  t.same(mock.requests[1]?.images, [dataUrl])
})

t.test('Responses API: the response object, and typed events with event: and data: lines', async t => {
  const mock = await mockFor(t)
  mock.script([
    { text: 'hello world', usage: { prompt: 4, completion: 2 } },
    { text: 'hello world', reasoning: 'let me see', usage: { prompt: 4, completion: 5, reasoning: 3 } },
  ])
  const body = (await (
    await post(mock, '/responses', { model: 'gpt-4o', input: 'hi', instructions: 'be brief' })
  ).json()) as Json
  t.match(body, {
    id: /^resp_/,
    object: 'response',
    status: 'completed',
    model: 'gpt-4o',
    instructions: 'be brief',
    output: [
      {
        type: 'message',
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text: 'hello world', annotations: [] }],
      },
    ],
    usage: { input_tokens: 4, output_tokens: 2, total_tokens: 6 },
  })

  const res = await post(mock, '/responses', { model: 'gpt-4o', input: 'hi', stream: true })
  t.match(res.headers.get('content-type'), /^text\/event-stream/)
  const events = sse(await res.text())
  const data = events.map(event => JSON.parse(event.data) as Json)
  t.ok(
    events.every((event, index) => event.event === data[index]?.type),
    'each event: line names the data type',
  )
  t.same(
    data.map(event => event.sequence_number),
    data.map((_, index) => index),
    'sequence numbers count up from 0',
  )
  t.equal(data[0]?.type, 'response.created')
  t.match(data[0]?.response, { object: 'response', status: 'in_progress', usage: null })
  t.equal(
    data
      .filter(event => event.type === 'response.output_text.delta')
      .map(event => event.delta)
      .join(''),
    'hello world',
  )
  t.equal(
    data
      .filter(event => event.type === 'response.reasoning_summary_text.delta')
      .map(event => event.delta)
      .join(''),
    'let me see',
  )
  t.equal(data.at(-1)?.type, 'response.completed')
  t.match(data.at(-1)?.response, {
    status: 'completed',
    usage: { input_tokens: 4, output_tokens: 5, total_tokens: 9, output_tokens_details: { reasoning_tokens: 3 } },
  })
  t.notOk(
    events.some(event => event.data === '[DONE]'),
    'the Responses stream has no [DONE]',
  )
})

t.test('GET /v1/models lists the configured models; retrieve and 404', async t => {
  const mock = await mockFor(t)
  const get = (path: string) => fetch(`${mock.url}${path}`, { headers: { authorization: `Bearer ${KEY}` } })
  const list = (await (await get('/models')).json()) as Json
  t.equal(list.object, 'list')
  t.match(list.data, [{ id: 'gpt-4o-mini', object: 'model', created: Number, owned_by: String }])
  mock.setModels(['qwen-max', 'qwq-32b'])
  t.same(
    ((await (await get('/models')).json()) as { data: { id: string }[] }).data.map(model => model.id),
    ['qwen-max', 'qwq-32b'],
  )
  t.match(await (await get('/models/qwq-32b')).json(), { id: 'qwq-32b', object: 'model' })
  const missing = await get('/models/nope')
  t.equal(missing.status, 404)
  t.match(await missing.json(), { error: { code: 'model_not_found', type: 'invalid_request_error' } })
  t.equal(mock.pending, 0)
})

t.test('401 for a wrong or missing key, in the OpenAI error shape, consuming no scripted behaviour', async t => {
  const mock = await mockFor(t)
  mock.reply({ text: 'for the right key' })
  const wrong = await post(mock, '/chat/completions', chat(), {
    headers: { authorization: 'Bearer sk-wrong', 'content-type': 'application/json' },
  })
  t.equal(wrong.status, 401)
  const body = (await wrong.json()) as { error: Json }
  t.same(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type'])
  t.match(body.error, { type: 'invalid_request_error', code: 'invalid_api_key', param: null })
  t.notMatch(body.error.message, /sk-wrong/, 'the key is not echoed')
  const none = await post(mock, '/chat/completions', chat(), { headers: { 'content-type': 'application/json' } })
  t.match(await none.json(), { error: { message: /didn't provide an API key/, code: null } })
  t.equal(mock.pending, 1)
  t.match(await (await post(mock, '/chat/completions', chat())).json(), {
    choices: [{ message: { content: 'for the right key' } }],
  })
  t.same(
    mock.requests.map(request => request.apiKey),
    ['sk-wrong', undefined, KEY],
  )
})

t.test('scripted errors: 429 with retry-after, 500 and 503, then a normal answer', async t => {
  const mock = await mockFor(t)
  mock.script([
    { status: 429, retryAfter: 1 },
    { status: 500 },
    { status: 503, message: 'overloaded', code: 'overloaded' },
  ])
  const limited = await post(mock, '/chat/completions', chat())
  t.equal(limited.status, 429)
  t.equal(limited.headers.get('retry-after'), '1')
  t.match(await limited.json(), {
    error: { type: 'requests', code: 'rate_limit_exceeded', param: null, message: String },
  })
  const failed = await post(mock, '/responses', { model: 'gpt-4o', input: 'x', stream: true })
  t.equal(failed.status, 500)
  t.match(failed.headers.get('content-type'), /^application\/json/, 'errors are JSON even for a streaming request')
  t.match(await failed.json(), { error: { type: 'server_error', code: null } })
  const overloaded = await post(mock, '/chat/completions', chat())
  t.equal(overloaded.status, 503)
  t.match(await overloaded.json(), { error: { message: 'overloaded', code: 'overloaded' } })
  t.equal((await post(mock, '/chat/completions', chat())).status, 200)
})

t.test(
  'the checks the real API makes: bad JSON, no model, no messages, stream_options without stream, unknown path',
  async t => {
    const mock = await mockFor(t)
    const cases: [string, unknown, number, Json][] = [
      ['/chat/completions', '{not json', 400, { type: 'invalid_request_error' }],
      ['/chat/completions', { messages: [{ role: 'user', content: 'x' }] }, 400, { param: 'model' }],
      ['/chat/completions', { model: 'gpt-4o', messages: [] }, 400, { param: 'messages' }],
      ['/chat/completions', chat({ stream_options: { include_usage: true } }), 400, { param: 'stream_options' }],
      ['/embeddings', { model: 'x', input: 'y' }, 404, { message: 'Invalid URL (POST /v1/embeddings)' }],
    ]
    for (const [path, body, status, error] of cases) {
      const res = await post(mock, path, body)
      t.equal(res.status, status, `${path} ${JSON.stringify(body)}`)
      t.match(await res.json(), { error })
    }
  },
)

t.test('slow headers and a delayed first byte', async t => {
  const mock = await mockFor(t)
  mock.script([{ slowHeadersMs: 150 }, { delayFirstByteMs: 150 }])
  let started = Date.now()
  await post(mock, '/chat/completions', chat({ stream: true }))
  t.ok(Date.now() - started >= 140, 'headers waited')
  started = Date.now()
  const res = await post(mock, '/chat/completions', chat({ stream: true }))
  t.ok(Date.now() - started < 140, 'headers came at once')
  await res.body?.getReader().read()
  t.ok(Date.now() - started >= 140, 'the first event waited')
})

t.test('mid-stream drop and hang-up: the client sees a broken connection, the mock records a drop', async t => {
  const mock = await mockFor(t)
  mock.script([{ text: 'a b c d e', dropAfterChunks: 2 }, { hangup: true }, { text: 'whole body', dropAfterChunks: 0 }])
  const res = await post(mock, '/chat/completions', chat({ stream: true }))
  t.equal(res.status, 200)
  const reader = res.body!.getReader()
  let received = ''
  const error = await (async () => {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return undefined
      received += Buffer.from(value).toString('utf8')
    }
  })().catch((caught: unknown) => caught)
  t.ok(error instanceof Error, 'reading the body fails')
  t.equal(sse(received).length, 2, 'the frames before the drop arrived')
  await t.rejects(post(mock, '/chat/completions', chat()), 'a hang-up fails the request')
  await t.rejects(
    post(mock, '/chat/completions', chat()).then(r => r.json()),
    'a non-streaming body cut in half fails',
  )
  t.same(
    mock.requests.map(request => request.outcome),
    ['dropped', 'dropped', 'dropped'],
  )
  t.same(mock.abortedRequests, [], 'a drop by the mock is not a client abort')
})

t.test('a client that disconnects mid-stream is detected at once', async t => {
  const mock = await mockFor(t)
  mock.reply({ text: 'a b c d e f g h i j', chunkDelayMs: 200 })
  const controller = new AbortController()
  const res = await post(mock, '/chat/completions', chat({ stream: true }), { signal: controller.signal })
  await res.body?.getReader().read()
  const abortedAt = Date.now()
  controller.abort()
  const request = await mock.waitForAbort(1000)
  t.equal(request.outcome, 'aborted')
  t.ok((request.endedAt ?? Infinity) - abortedAt < 1000, 'within a second')
  t.same(mock.abortedRequests, [request])
  await t.rejects(mock.waitForAbort(50), /no aborted request/)
})

t.test('connections are counted, so a test can see keep-alive reuse', async t => {
  const mock = await mockFor(t)
  // A one-connection pool: global fetch may open a second socket while the first is being released.
  const pool = new Pool(new URL(mock.url).origin, { connections: 1 })
  t.teardown(() => pool.close())
  for (let index = 0; index < 3; index++) {
    const res = await pool.request({
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { authorization: `Bearer ${KEY}` },
      body: JSON.stringify(chat()),
    })
    t.equal(res.statusCode, 200)
    await res.body.json()
  }
  t.equal(mock.requests.length, 3)
  t.equal(mock.connections, 1)
})

// ------------------------------------------------------------ the official SDK as the client

interface SdkError extends Error {
  readonly status?: number
  readonly code?: string | null
  readonly type?: string
}
interface SdkClient {
  chat: { completions: { create(body: Json): Promise<unknown> } }
  responses: { create(body: Json): Promise<unknown> }
  models: { list(): AsyncIterable<{ id: string }> }
}
interface SdkModule {
  default: new (options: { apiKey: string; baseURL: string; maxRetries?: number }) => SdkClient
}
// A computed specifier keeps tsc from resolving a package that may not be installed yet.
const sdkName = 'openai'
const sdk = (await import(sdkName).catch(() => undefined)) as SdkModule | undefined
const skipSdk = sdk ? false : "the 'openai' package is not installed (npm i -D openai)"

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of stream) out.push(item)
  return out
}

t.test('SDK: chat completions, streaming and not, with reasoning and usage', { skip: skipSdk }, async t => {
  const mock = await mockFor(t)
  const client = new sdk!.default({ apiKey: KEY, baseURL: mock.url, maxRetries: 0 })
  mock.script([
    { text: 'hi there', usage: { prompt: 3, completion: 2 } },
    { text: 'hi there', reasoning: 'hmm ok', usage: { prompt: 3, completion: 4 } },
  ])
  t.match(await client.chat.completions.create(chat()), {
    object: 'chat.completion',
    choices: [{ message: { content: 'hi there' } }],
    usage: { total_tokens: 5 },
  })
  const stream = (await client.chat.completions.create(
    chat({ stream: true, stream_options: { include_usage: true } }),
  )) as AsyncIterable<Json>
  const list = await collect(stream)
  t.equal(list.map(chunk => choicesOf(chunk)[0]?.delta.content ?? '').join(''), 'hi there')
  t.equal(list.map(chunk => choicesOf(chunk)[0]?.delta.reasoning_content ?? '').join(''), 'hmm ok')
  t.match(list.at(-1), { choices: [], usage: { total_tokens: 7 } })
})

t.test('SDK: Responses API, streaming and not', { skip: skipSdk }, async t => {
  const mock = await mockFor(t)
  const client = new sdk!.default({ apiKey: KEY, baseURL: mock.url, maxRetries: 0 })
  mock.script([{ text: 'first answer' }, { text: 'second answer', usage: { prompt: 2, completion: 2 } }])
  t.match(await client.responses.create({ model: 'gpt-4o', input: 'hi' }), {
    object: 'response',
    output_text: 'first answer',
  })
  const events = await collect(
    (await client.responses.create({ model: 'gpt-4o', input: 'hi', stream: true })) as AsyncIterable<Json>,
  )
  t.equal(
    events
      .filter(event => event.type === 'response.output_text.delta')
      .map(event => event.delta)
      .join(''),
    'second answer',
  )
  t.match(events.at(-1), { type: 'response.completed', response: { usage: { total_tokens: 4 } } })
})

t.test('SDK: models list, 401, 429 and a retry that honours retry-after', { skip: skipSdk }, async t => {
  const mock = await mockFor(t)
  const client = new sdk!.default({ apiKey: KEY, baseURL: mock.url, maxRetries: 0 })
  t.same(
    (await collect(client.models.list())).map(model => model.id),
    ['gpt-4o-mini', 'gpt-4o', 'deepseek-reasoner'],
  )
  const wrong = new sdk!.default({ apiKey: 'sk-wrong', baseURL: mock.url, maxRetries: 0 })
  await t.rejects(wrong.chat.completions.create(chat()), {
    status: 401,
    code: 'invalid_api_key',
  } satisfies Partial<SdkError>)
  mock.reply({ status: 429, retryAfter: 1 })
  await t.rejects(client.chat.completions.create(chat()), {
    status: 429,
    code: 'rate_limit_exceeded',
  } satisfies Partial<SdkError>)
  const retrying = new sdk!.default({ apiKey: KEY, baseURL: mock.url, maxRetries: 1 })
  mock.script([{ status: 429, retryAfter: 1 }, { text: 'after the wait' }])
  const started = Date.now()
  t.match(await retrying.chat.completions.create(chat()), { choices: [{ message: { content: 'after the wait' } }] })
  t.ok(Date.now() - started >= 900, 'the SDK waited for retry-after')
})

t.test('SDK: aborting a stream is seen by the mock as an aborted request', { skip: skipSdk }, async t => {
  const mock = await mockFor(t)
  const client = new sdk!.default({ apiKey: KEY, baseURL: mock.url, maxRetries: 0 })
  mock.reply({ text: 'a b c d e f g h', chunkDelayMs: 200 })
  const stream = (await client.chat.completions.create(chat({ stream: true }))) as AsyncIterable<Json> & {
    controller: AbortController
  }
  for await (const _chunk of stream) break
  t.equal((await mock.waitForAbort(1000)).outcome, 'aborted')
})
