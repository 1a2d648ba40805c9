import OpenAI from 'openai'
import t, { type Test } from 'tap'
import { definePlugin, SseSplitter, Type, type LimitDecision, type LimitSubject, type Principal } from '@parley/core'
import {
  captureLogs,
  createTestGateway,
  providerPlugin,
  scriptedProvider,
  type ScriptedProvider,
  type TestGateway,
} from '@parley/core/testing'

/**
 * The translating half of the data plane and the limits hook, with the test kit's scripted
 * provider: events in, OpenAI wire format out, read by the official SDK.
 */

const callers = definePlugin({
  id: 'pipeline-callers',
  version: '1.0.0',
  setup(ctx) {
    ctx.auth.register('fixture', {
      async authenticate(request): Promise<Principal | undefined> {
        const token = request.headers.authorization?.replace(/^Bearer /, '')
        if (token === 'root') return { kind: 'user', userId: '1', role: 'root', group: 'default', name: 'root' }
        if (token === 'ada')
          return { kind: 'api_token', tokenId: '7', userId: '2', role: 'user', group: 'default', name: 'ada' }
        return undefined
      },
    })
  },
})

/** Limit decisions the test sets per subject kind; records what the pipeline asked. */
function limitsFixture() {
  const asked: LimitSubject[] = []
  const decide: {
    caller?: (subject: LimitSubject) => LimitDecision
    channel?: (subject: Extract<LimitSubject, { kind: 'channel' }>) => LimitDecision
  } = {}
  const plugin = definePlugin({
    id: 'pipeline-limits',
    version: '1.0.0',
    setup(ctx) {
      ctx.limits.register('fixture', {
        async check(subject) {
          asked.push(subject)
          if (subject.kind === 'caller') return decide.caller?.(subject) ?? { allowed: true }
          return decide.channel?.(subject) ?? { allowed: true }
        },
      })
    },
  })
  return { plugin, asked, decide }
}

async function setup(
  t: Test,
  extra: { limits?: ReturnType<typeof limitsFixture>; logs?: ReturnType<typeof captureLogs> } = {},
): Promise<{
  gateway: TestGateway
  provider: ScriptedProvider
  client: OpenAI
  channel: (name: string, priority?: number) => Promise<number>
}> {
  const provider = scriptedProvider()
  const plugins = [callers, providerPlugin('scripted', provider), ...(extra.limits ? [extra.limits.plugin] : [])]
  const gateway = await createTestGateway({
    plugins,
    listen: true,
    ...(extra.logs ? { logger: extra.logs.logger } : {}),
  })
  t.teardown(gateway.close)
  const channel = async (name: string, priority = 0): Promise<number> => {
    const before = gateway.catalog.current().channels.length
    const response = await gateway.inject({
      method: 'POST',
      url: '/api/admin/channels',
      headers: { authorization: 'Bearer root' },
      payload: {
        name,
        provider: 'scripted',
        base_url: 'https://1.1.1.1/v1',
        keys: [`sk-${name}-0000000000000000`],
        models: ['bot'],
        priority,
      },
    })
    if (response.statusCode !== 201) throw new Error(response.body)
    const deadline = Date.now() + 3000
    while (gateway.catalog.current().channels.length === before) {
      if (Date.now() > deadline) throw new Error('catalog snapshot did not catch up')
      await new Promise(resolve => setTimeout(resolve, 10))
    }
    return response.json().id as number
  }
  const client = new OpenAI({ apiKey: 'ada', baseURL: `${gateway.url}/v1`, maxRetries: 0 })
  return { gateway, provider, client, channel }
}

async function usageRows(gateway: TestGateway): Promise<Array<Record<string, unknown>>> {
  await gateway.usage.flush()
  return gateway.db.em().getConnection().execute('select * from usage_logs order by id')
}

const reasoningAnswer = [
  { type: 'reasoning', delta: 'Let me ' },
  { type: 'reasoning', delta: 'think.' },
  { type: 'text', delta: 'Hello' },
  { type: 'text', delta: ' there' },
  { type: 'usage', promptTokens: 11, completionTokens: 4 },
  { type: 'done', finishReason: 'stop' },
] as const

t.test('a translating provider answers chat completions, streamed and not, as OpenAI does', async t => {
  const { gateway, provider, client, channel } = await setup(t)
  await channel('main')

  provider.reply({ events: reasoningAnswer })
  const completion = await client.chat.completions.create({
    model: 'bot',
    messages: [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'hi' },
    ],
    temperature: 0.2,
  })
  t.equal(completion.object, 'chat.completion')
  t.equal(completion.model, 'bot', 'the model is the name the client asked for')
  t.equal(completion.choices[0]?.message.content, 'Hello there')
  t.equal(
    (completion.choices[0]?.message as unknown as { reasoning_content?: string }).reasoning_content,
    'Let me think.',
  )
  t.equal(completion.choices[0]?.finish_reason, 'stop')
  t.same(completion.usage, { prompt_tokens: 11, completion_tokens: 4, total_tokens: 15 })
  const asked = provider.calls[0]
  t.same(
    asked?.request.messages.map(m => m.role),
    ['system', 'user'],
    'the whole conversation reaches the provider',
  )
  t.equal(asked?.request.parameters.temperature, 0.2, 'other parameters are handed on')
  t.equal(asked?.target.apiKey, 'sk-main-0000000000000000', 'the provider gets the opened key')
  t.equal(asked?.userKey, 'user-2', 'a stable user key for upstreams that track users')

  provider.reply({ events: reasoningAnswer })
  const stream = await client.chat.completions.create({
    model: 'bot',
    messages: [{ role: 'user', content: 'hi' }],
    stream: true,
    stream_options: { include_usage: true },
  })
  let text = ''
  let reasoning = ''
  const usages: unknown[] = []
  let finish: string | null | undefined
  for await (const chunk of stream) {
    const delta = chunk.choices[0]?.delta as { content?: string | null; reasoning_content?: string } | undefined
    text += delta?.content ?? ''
    reasoning += delta?.reasoning_content ?? ''
    if (chunk.choices[0]?.finish_reason) finish = chunk.choices[0].finish_reason
    if (chunk.usage) usages.push(chunk.usage)
  }
  t.equal(text, 'Hello there')
  t.equal(reasoning, 'Let me think.')
  t.equal(finish, 'stop')
  t.same(
    usages,
    [{ prompt_tokens: 11, completion_tokens: 4, total_tokens: 15 }],
    'one usage chunk, because the client asked for it',
  )

  provider.reply({ events: reasoningAnswer })
  const quiet = await client.chat.completions.create({
    model: 'bot',
    messages: [{ role: 'user', content: 'hi' }],
    stream: true,
  })
  let usageChunks = 0
  for await (const chunk of quiet) if (chunk.usage) usageChunks++
  t.equal(usageChunks, 0, 'no usage chunk for a client that did not ask')

  const rows = await usageRows(gateway)
  t.equal(rows.length, 3)
  t.same(
    rows.map(r => [
      r.status,
      r.prompt_tokens,
      r.completion_tokens,
      Boolean(r.estimated),
      Boolean(r.stream),
      r.endpoint,
    ]),
    [
      ['success', 11, 4, false, false, 'chat.completions'],
      ['success', 11, 4, false, true, 'chat.completions'],
      ['success', 11, 4, false, true, 'chat.completions'],
    ],
  )
})

t.test('tool calls are assembled from deltas', async t => {
  const { provider, client, channel } = await setup(t)
  await channel('main')
  const toolEvents = [
    { type: 'tool_call', index: 0, id: 'call_1', name: 'get_weather', argumentsDelta: '{"city":' },
    { type: 'tool_call', index: 0, argumentsDelta: '"Paris"}' },
    { type: 'done', finishReason: 'tool_calls' },
  ] as const
  provider.reply({ events: toolEvents })
  const completion = await client.chat.completions.create({
    model: 'bot',
    messages: [{ role: 'user', content: 'weather?' }],
  })
  const call = completion.choices[0]?.message.tool_calls?.[0] as
    { id: string; function: { name: string; arguments: string } } | undefined
  t.equal(call?.id, 'call_1')
  t.equal(call?.function.name, 'get_weather')
  t.same(JSON.parse(call?.function.arguments ?? 'null'), { city: 'Paris' })
  t.equal(completion.choices[0]?.finish_reason, 'tool_calls')

  provider.reply({ events: toolEvents })
  const runner = client.chat.completions.stream({ model: 'bot', messages: [{ role: 'user', content: 'weather?' }] })
  const final = await runner.finalChatCompletion()
  t.same(
    JSON.parse(
      final.choices[0]?.message.tool_calls?.[0]?.type === 'function'
        ? final.choices[0].message.tool_calls[0].function.arguments
        : 'null',
    ),
    { city: 'Paris' },
    'the SDK stream helper reassembles the streamed call',
  )
})

t.test('a translating provider answers the Responses API, streamed and not', async t => {
  const { gateway, provider, client, channel } = await setup(t)
  await channel('main')

  provider.reply({ events: reasoningAnswer })
  const response = await client.responses.create({
    model: 'bot',
    instructions: 'be brief',
    input: [
      {
        role: 'user',
        content: [
          { type: 'input_text', text: 'look' },
          { type: 'input_image', image_url: 'https://example.com/cat.png', detail: 'low' },
        ],
      },
      { role: 'assistant', content: 'a cat' },
      { role: 'user', content: 'and now?' },
    ],
    max_output_tokens: 50,
  })
  t.equal(response.object, 'response')
  t.equal(response.status, 'completed')
  t.equal(response.output_text, 'Hello there')
  t.equal(response.usage?.input_tokens, 11)
  t.equal(response.usage?.output_tokens, 4)
  const reasoningItem = response.output.find(item => item.type === 'reasoning')
  t.same(reasoningItem?.type === 'reasoning' ? reasoningItem.summary.map(s => s.text) : [], ['Let me think.'])
  const request = provider.calls[0]?.request
  t.same(
    request?.messages,
    [
      { role: 'system', content: 'be brief' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'look' },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.png', detail: 'low' } },
        ],
      },
      { role: 'assistant', content: 'a cat' },
      { role: 'user', content: 'and now?' },
    ],
    'instructions and input items become the chat conversation, images included',
  )
  t.equal(request?.parameters.max_tokens, 50)

  provider.reply({ events: reasoningAnswer })
  const stream = await client.responses.create({ model: 'bot', input: 'hi', stream: true })
  const types: string[] = []
  let text = ''
  let reasoning = ''
  let completed: { output_text?: string; usage?: { output_tokens: number } | null } | undefined
  let lastSequence = -1
  let ordered = true
  for await (const event of stream) {
    types.push(event.type)
    if (event.sequence_number !== lastSequence + 1) ordered = false
    lastSequence = event.sequence_number
    if (event.type === 'response.output_text.delta') text += event.delta
    if (event.type === 'response.reasoning_summary_text.delta') reasoning += event.delta
    if (event.type === 'response.completed') completed = event.response
  }
  t.ok(ordered, 'sequence numbers count up from 0')
  t.equal(types[0], 'response.created')
  t.equal(types.at(-1), 'response.completed')
  t.equal(text, 'Hello there')
  t.equal(reasoning, 'Let me think.')
  t.equal(completed?.usage?.output_tokens, 4)
  const rows = await usageRows(gateway)
  t.same(
    rows.map(r => r.endpoint),
    ['responses', 'responses'],
  )
})

t.test('without usage from the provider the row is estimated with the tokenizer', async t => {
  const { gateway, provider, client, channel } = await setup(t)
  await channel('main')
  provider.reply({
    events: [
      { type: 'text', delta: 'one two three four five' },
      { type: 'done', finishReason: 'stop' },
    ],
  })
  const completion = await client.chat.completions.create({
    model: 'bot',
    messages: [{ role: 'user', content: 'count to five' }],
  })
  t.ok((completion.usage?.prompt_tokens ?? 0) > 0, 'the client still gets usage numbers')
  const [row] = await usageRows(gateway)
  t.equal(Boolean(row?.estimated), true)
  t.equal(row?.completion_tokens, 5, 'five words, five tokens in o200k_base')
  t.ok(Number(row?.prompt_tokens) >= 8, 'prompt estimate includes the chat format overhead')
})

t.test('an error event before any output fails over; one after output ends the stream with an error', async t => {
  const { gateway, provider, client, channel } = await setup(t)
  await channel('first', 10)
  await channel('second', 0)
  provider.reply(
    { events: [{ type: 'error', message: 'overloaded', status: 503 }] },
    {
      events: [
        { type: 'text', delta: 'saved' },
        { type: 'done', finishReason: 'stop' },
      ],
    },
  )
  const saved = await client.chat.completions.create({ model: 'bot', messages: [{ role: 'user', content: 'hi' }] })
  t.equal(saved.choices[0]?.message.content, 'saved')
  t.same(
    provider.calls.map(c => c.target.channelName),
    ['first', 'second'],
    'the next channel answered',
  )

  provider.reply({ events: [{ type: 'error', message: 'your prompt is not allowed', status: 400 }] })
  const refused = await client.chat.completions
    .create({ model: 'bot', messages: [{ role: 'user', content: 'hi' }] })
    .catch((error: unknown) => error)
  t.type(refused, OpenAI.BadRequestError, 'a refusal of the request itself is not retried elsewhere')
  t.match((refused as InstanceType<typeof OpenAI.APIError>).message, /your prompt is not allowed/)
  t.equal(provider.calls.length, 3)

  provider.reply({
    events: [
      { type: 'text', delta: 'half' },
      { type: 'error', message: 'the bot crashed' },
    ],
    delayMs: 5,
  })
  const stream = await client.chat.completions.create({
    model: 'bot',
    messages: [{ role: 'user', content: 'hi' }],
    stream: true,
  })
  let text = ''
  const failure = await (async () => {
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ''
  })().catch((error: unknown) => error)
  t.equal(text, 'half', 'what was sent stays sent')
  t.type(failure, OpenAI.APIError)
  t.match(String((failure as Error).message), /the bot crashed/)
  t.equal(provider.calls.length, 4, 'no retry after output reached the client')
  const rows = await usageRows(gateway)
  t.same(
    rows.map(r => [r.status, r.error_type, r.channel_name]),
    [
      ['success', null, 'second'],
      ['error', 'upstream_bad_request', 'first'],
      ['error', 'upstream_error', 'first'],
    ],
  )
})

t.test('the limits hook: a caller refusal is a 429 with Retry-After; a busy channel is skipped', async t => {
  const limits = limitsFixture()
  const { gateway, provider, client, channel } = await setup(t, { limits })
  const busy = await channel('busy', 10)
  await channel('free', 0)

  limits.decide.caller = () => ({ allowed: true, limit: 60, remaining: 59, resetMs: 30_000 })
  const ok = await client.chat.completions
    .create({ model: 'bot', messages: [{ role: 'user', content: 'hi' }] })
    .withResponse()
  t.equal(ok.response.headers.get('x-ratelimit-limit'), '60')
  t.equal(ok.response.headers.get('x-ratelimit-remaining'), '59')
  t.equal(ok.response.headers.get('x-ratelimit-reset'), '30')
  t.match(limits.asked[0], { kind: 'caller', principal: { kind: 'api_token', tokenId: '7' } })

  limits.decide.channel = subject =>
    subject.channelId === String(busy)
      ? { allowed: false, limit: 5, retryAfterMs: 20_000, reason: 'channel busy' }
      : { allowed: true }
  await client.chat.completions.create({ model: 'bot', messages: [{ role: 'user', content: 'hi' }] })
  t.equal(provider.calls.at(-1)?.target.channelName, 'free', 'the channel at its limit is skipped')

  limits.decide.channel = () => ({ allowed: false, limit: 5, retryAfterMs: 20_000, reason: 'channel busy' })
  const calls = provider.calls.length
  const allBusy = await gateway.inject({
    method: 'POST',
    url: '/v1/chat/completions',
    headers: { authorization: 'Bearer ada' },
    payload: { model: 'bot', messages: [{ role: 'user', content: 'hi' }] },
  })
  t.equal(allBusy.statusCode, 429)
  t.equal(allBusy.json().error.type, 'rate_limit_exceeded')
  t.equal(allBusy.headers['retry-after'], '20')
  t.equal(provider.calls.length, calls, 'no provider was called')

  limits.decide.caller = () => ({ allowed: false, limit: 60, retryAfterMs: 12_500, reason: 'user limit reached' })
  const refused = await gateway.inject({
    method: 'POST',
    url: '/v1/chat/completions',
    headers: { authorization: 'Bearer ada' },
    payload: { model: 'bot', messages: [{ role: 'user', content: 'hi' }] },
  })
  t.equal(refused.statusCode, 429)
  t.match(refused.json(), { error: { type: 'rate_limit_exceeded', retry_after: 13 } })
  t.equal(refused.headers['retry-after'], '13')
  t.equal(refused.headers['x-ratelimit-remaining'], '0')
  t.equal(provider.calls.length, calls, 'a refused caller reaches no provider')
})

t.test('SseSplitter finds whole events whatever the chunking and line endings', async t => {
  const text = 'event: a\r\ndata: {"x":1}\r\n\r\ndata: line1\ndata: line2\n\n: comment\n\ndata: 汉字\r\rdata: tail'
  const bytes = Buffer.from(text)
  for (const size of [1, 2, 3, 7, bytes.length]) {
    const splitter = new SseSplitter()
    const events = []
    for (let i = 0; i < bytes.length; i += size) events.push(...splitter.push(bytes.subarray(i, i + size)))
    const rest = splitter.rest()
    t.same(
      events.map(e => [e.name, e.data]),
      [
        ['a', '{"x":1}'],
        [undefined, 'line1\nline2'],
        [undefined, ''],
        [undefined, '汉字'],
      ],
      `chunks of ${size} byte(s)`,
    )
    t.equal(rest?.data, 'tail')
    t.equal(events.map(e => e.raw).join('') + (rest?.raw ?? ''), text, 'the raw text is kept byte for byte')
  }
})

t.test('SseSplitter: one-line events, and which chunks can be forwarded byte for byte', async t => {
  const splitter = new SseSplitter()
  const data = (chunk: string | Buffer) =>
    splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk).map(e => e.data)
  t.same(data('data: {"a":1}\n\ndata: [DONE]\n\n'), ['{"a":1}', '[DONE]'])
  t.ok(splitter.aligned, 'whole events only: forward the chunk as it is')
  t.same(data('data:  two spaces\n\n'), [' two spaces'], 'one space after the colon is dropped, no more')
  t.same(data('data: x\r\n\n'), ['x'], 'a CR before the blank line is not data')
  t.same(data('data: a\rdata: b\n\n'), ['a\nb'], 'a lone CR ends a line')
  t.same(data('data: par'), [])
  t.notOk(splitter.aligned, 'an event cut in two')
  t.same(data('tial\n\n'), ['partial'])
  t.notOk(splitter.aligned, 'this chunk starts inside an event')
  t.same(data('data: ok\n\n'), ['ok'])
  t.ok(splitter.aligned, 'aligned again')
  const han = Buffer.from('data: 汉\n\n')
  t.same(data(han.subarray(0, 7)), [])
  t.same(data(han.subarray(7)), ['汉'], 'a character cut between chunks')
  t.notOk(splitter.aligned, 'the chunk began with the rest of a character')
})

t.test('a secret that cannot be opened takes its key or channel out of routing, not the whole catalog', async t => {
  const logs = captureLogs('warn')
  const { gateway, provider, client, channel } = await setup(t, { logs })
  const broken = await channel('broken', 10)
  const created = await gateway.inject({
    method: 'POST',
    url: '/api/admin/channels',
    headers: { authorization: 'Bearer root' },
    payload: {
      name: 'main',
      provider: 'scripted',
      base_url: 'https://1.1.1.1/v1',
      keys: ['sk-main-first-000000000000', 'sk-main-second-00000000000'],
      models: ['bot'],
    },
  })
  t.equal(created.statusCode, 201, created.body)
  const main = created.json().id as number
  // As if ENCRYPTION_KEY had changed without re-encrypt: the broken channel's only key and the
  // first key of main no longer open.
  const sql = gateway.db.em().getConnection()
  await sql.execute(
    "update catalog_channel_keys set sealed = 'v1.bogus.bogus.bogus' where channel_id = ? or id = (select min(id) from catalog_channel_keys where channel_id = ?)",
    [broken, main],
  )
  await gateway.catalog.reload()
  const snapshot = gateway.catalog.current()
  t.same(
    snapshot.channels.map(c => c.name),
    ['main'],
    'the channel without a readable key is left out, the other stays',
  )
  t.same(
    snapshot.channels[0]?.keys.map(k => k.key),
    ['sk-main-second-00000000000'],
    'only the readable key',
  )
  const answer = await client.chat.completions.create({ model: 'bot', messages: [{ role: 'user', content: 'hi' }] })
  t.equal(answer.choices[0]?.message.content, 'ok', 'the model is still served')
  t.equal(provider.calls.at(-1)?.target.apiKey, 'sk-main-second-00000000000')
  const reported = logs.containing('a key of this channel cannot be opened')
  t.ok(
    reported.some(line => line.includes('"channel":"main"')),
    'the unreadable key of main is reported',
  )
  t.ok(
    reported.some(line => line.includes('"channel":"broken"')),
    'so is the one of the channel left out',
  )
  t.notOk(
    logs.lines.some(line => line.includes('sk-main') || line.includes('sk-broken')),
    'no key in the log',
  )
})

t.test('model_passthrough forwards a model name no channel binds', async t => {
  const { gateway, provider, client, channel } = await setup(t)
  await channel('main')
  const unknown = await client.chat.completions
    .create({ model: 'brand-new-model', messages: [{ role: 'user', content: 'hi' }] })
    .catch((error: unknown) => error)
  t.type(unknown, OpenAI.NotFoundError, 'off: an unbound model is unknown')
  const saved = await gateway.inject({
    method: 'PUT',
    url: '/api/admin/config',
    headers: { authorization: 'Bearer root' },
    payload: { model_passthrough: true },
  })
  t.equal(saved.statusCode, 200, saved.body)
  const answer = await client.chat.completions.create({
    model: 'brand-new-model',
    messages: [{ role: 'user', content: 'hi' }],
  })
  t.equal(answer.choices[0]?.message.content, 'ok')
  t.equal(provider.calls.at(-1)?.request.model, 'brand-new-model', 'the name goes upstream as it is')
})

t.test('channel settings are checked against the provider schema when saved', async t => {
  const strictProvider = definePlugin({
    id: 'strict-provider',
    version: '1.0.0',
    setup(ctx) {
      ctx.providers.register('strict', {
        settingsSchema: Type.Object(
          { region: Type.Union([Type.Literal('cn'), Type.Literal('global')], { default: 'global' }) },
          { additionalProperties: false },
        ),
        async *chat() {
          yield { type: 'done', finishReason: 'stop' }
        },
      })
    },
  })
  const gateway = await createTestGateway({ plugins: [callers, strictProvider] })
  t.teardown(gateway.close)
  const create = (settings: Record<string, unknown>) =>
    gateway.inject({
      method: 'POST',
      url: '/api/admin/channels',
      headers: { authorization: 'Bearer root' },
      payload: {
        name: `c${Math.random()}`,
        provider: 'strict',
        base_url: 'https://1.1.1.1/v1',
        keys: ['k'],
        models: ['m'],
        settings,
      },
    })
  const bad = await create({ region: 'mars' })
  t.equal(bad.statusCode, 400)
  t.match(bad.json().error.message, /settings\.region/)
  const extra = await create({ region: 'cn', colour: 'red' })
  t.equal(extra.statusCode, 400, 'unknown settings are refused')
  const good = await create({})
  t.equal(good.statusCode, 201)
  t.same(good.json().settings, { region: 'global' }, 'defaults are filled in')
})

t.test('GET/PUT /api/admin/config: all or nothing, admins only', async t => {
  const { gateway } = await setup(t)
  const before = await gateway.inject({
    method: 'GET',
    url: '/api/admin/config',
    headers: { authorization: 'Bearer root' },
  })
  t.equal(before.statusCode, 200)
  t.equal(before.json().guest_rpm, 10)
  const bad = await gateway.inject({
    method: 'PUT',
    url: '/api/admin/config',
    headers: { authorization: 'Bearer root' },
    payload: { guest_rpm: 30, user_rpm: 'many' },
  })
  t.equal(bad.statusCode, 400)
  t.match(bad.json().error.message, /user_rpm/)
  t.equal(gateway.settings.get('guest_rpm'), 10, 'one bad value changes nothing')
  const unknown = await gateway.inject({
    method: 'PUT',
    url: '/api/admin/config',
    headers: { authorization: 'Bearer root' },
    payload: { no_such_thing: 1 },
  })
  t.equal(unknown.statusCode, 400)
  const good = await gateway.inject({
    method: 'PUT',
    url: '/api/admin/config',
    headers: { authorization: 'Bearer root' },
    payload: { guest_rpm: 30 },
  })
  t.equal(good.statusCode, 200)
  t.equal(good.json().guest_rpm, 30)
  t.equal(gateway.settings.get('guest_rpm'), 30)
  const schema = await gateway.inject({
    method: 'GET',
    url: '/api/admin/config/schema',
    headers: { authorization: 'Bearer root' },
  })
  t.match(
    schema.json().items.find((item: { key: string }) => item.key === 'guest_rpm'),
    { owner: 'core', default: 10, schema: { type: 'integer' } },
  )
  for (const [method, url] of [
    ['GET', '/api/admin/config'],
    ['PUT', '/api/admin/config'],
    ['GET', '/api/admin/config/schema'],
  ] as const) {
    const refused = await gateway.inject({
      method,
      url,
      headers: { authorization: 'Bearer ada' },
      payload: method === 'PUT' ? { guest_rpm: 1 } : undefined,
    })
    t.equal(refused.statusCode, 401, `${method} ${url} needs an admin session, not an API token`)
  }
})

t.test('a body nested past the limit is the client fault: 400 at once, no upstream attempt', async t => {
  const { gateway, provider, channel } = await setup(t)
  await channel('only')
  const nested = '['.repeat(100_000) + ']'.repeat(100_000)
  for (const url of ['/v1/chat/completions', '/v1/responses']) {
    const response = await gateway.inject({
      method: 'POST',
      url,
      headers: { authorization: 'Bearer ada', 'content-type': 'application/json' },
      payload: `{"model": "bot", "messages": [{"role": "user", "content": ${nested}}], "input": "hi"}`,
    })
    t.equal(response.statusCode, 400, url)
    t.match(response.json(), { error: { type: 'invalid_json', code: 'PARLEY_ERR_HTTP_TOO_DEEP' } })
  }
  t.equal(provider.calls.length, 0, 'no channel was tried')
})
