import { randomBytes } from 'node:crypto'
import OpenAI from 'openai'
import t, { type Test } from 'tap'
import identity from '@parley/identity'
import { captureLogs, createTestGateway } from '@parley/core/testing'
import openai from '@parley/openai'
import {
  bootGateway,
  bootUpstream,
  createChannel,
  createChatRoute,
  post,
  readSse,
  ROOT,
  sdk,
  statusOf,
  usageRows,
  waitForRows,
  wordCount,
  type UsageRow,
} from './helpers.js'

// The happy paths a user relies on, with the official SDK as the client, Parley in the middle
// and the mock OpenAI upstream behind it. Failover and timeouts live in resilience.test.ts.

const KEY = 'sk-proj-good-0123456789abcdef'
const OTHER_KEY = 'sk-proj-other-0123456789abcdef'
const BAD_KEY = 'sk-proj-revoked-9876543210fedcba'

type DeepSeekDelta = { reasoning_content?: string | null }

/** The one row a test expects, with its flags as booleans whatever the dialect stores. */
function only(t: Test, rows: readonly UsageRow[]): UsageRow & { estimated: boolean; stream: boolean } {
  t.equal(rows.length, 1, 'exactly one usage row')
  const row = rows[0] as UsageRow
  return { ...row, estimated: Boolean(row.estimated), stream: Boolean(row.stream) }
}

t.test("chat completions, not streamed: the answer, the upstream's usage and the usage row", async t => {
  const upstream = await bootUpstream(t, { keys: [KEY] })
  const gateway = await bootGateway(t)
  const channelId = await createChannel(gateway, {
    name: 'main',
    base_url: upstream.url,
    keys: [KEY],
    models: ['gpt-4o-mini'],
  })
  upstream.reply({ text: 'Paris is the capital of France.', usage: { prompt: 17, completion: 7 }, slowHeadersMs: 60 })

  const { data: completion, response } = await sdk(gateway, 'token-default')
    .chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'What is the capital of France?' }],
      temperature: 0.2,
    })
    .withResponse()
  t.equal(completion.choices[0]?.message.content, 'Paris is the capital of France.')
  t.equal(completion.choices[0]?.finish_reason, 'stop')
  t.match(
    completion.usage,
    { prompt_tokens: 17, completion_tokens: 7, total_tokens: 24 },
    "the upstream's usage reaches the client",
  )

  t.equal(upstream.requests.length, 1)
  const sent = upstream.requests[0]
  t.equal(sent?.path, '/v1/chat/completions')
  t.equal(sent?.apiKey, KEY, 'the channel key goes upstream')
  t.match(
    sent?.body,
    { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'What is the capital of France?' }], temperature: 0.2 },
    "the client's parameters go upstream untouched",
  )
  t.equal(sent?.stream, false)
  t.notOk(sent?.headers.authorization?.includes('token-default'), "the client's credential never goes upstream")

  const row = only(t, await usageRows(gateway))
  t.match(row, {
    request_id: response.headers.get('x-request-id'),
    principal_kind: 'api_token',
    user_id: 2,
    username: 'ada',
    token_id: 7,
    model: 'gpt-4o-mini',
    channel_id: channelId,
    channel_name: 'main',
    prompt_tokens: 17,
    completion_tokens: 7,
    estimated: false,
    status: 'success',
    error_type: null,
    endpoint: 'chat.completions',
    stream: false,
  })
  t.ok(row.latency_ms >= 55, `latency covers the upstream's 60 ms (${row.latency_ms})`)
  t.ok(
    row.ttfb_ms !== null && row.ttfb_ms >= 55 && row.ttfb_ms <= row.latency_ms,
    `ttfb is set and within the latency (${row.ttfb_ms})`,
  )
})

t.test('chat completions, streamed: deltas as they come, reasoning_content, usage only when asked for', async t => {
  const upstream = await bootUpstream(t, { keys: [KEY] })
  const gateway = await bootGateway(t)
  const channelId = await createChannel(gateway, {
    name: 'main',
    base_url: upstream.url,
    keys: [KEY],
    models: ['deepseek-reasoner'],
  })
  const client = sdk(gateway, 'token-default')
  const answer = 'Two plus two is four.'
  const reasoning = 'The user asks a sum. Add them.'
  // 1 role + 7 reasoning + 5 text + stop + usage + [DONE] frames, 40 ms apart: about 600 ms in all.
  upstream.reply({ text: answer, reasoning, chunkDelayMs: 40, usage: { prompt: 12, completion: 40, reasoning: 28 } })

  const started = Date.now()
  const stream = await client.chat.completions.create({
    model: 'deepseek-reasoner',
    messages: [{ role: 'user', content: 'What is 2 + 2?' }],
    stream: true,
  })
  let text = ''
  let thought = ''
  const contentAt: number[] = []
  const reasoningAt: number[] = []
  const usageChunks: unknown[] = []
  for await (const chunk of stream) {
    if (chunk.usage) usageChunks.push(chunk.usage)
    const delta = chunk.choices[0]?.delta
    const piece = (delta as DeepSeekDelta | undefined)?.reasoning_content
    if (typeof piece === 'string' && piece !== '') {
      thought += piece
      reasoningAt.push(Date.now())
    }
    if (typeof delta?.content === 'string' && delta.content !== '') {
      text += delta.content
      contentAt.push(Date.now())
    }
  }
  const ended = Date.now()
  t.equal(text, answer, 'the whole answer')
  t.equal(thought, reasoning, 'the reasoning_content deltas, DeepSeek style')
  t.ok(
    reasoningAt.length >= 5 && contentAt.length >= 4,
    `the answer came in pieces (${reasoningAt.length} reasoning, ${contentAt.length} content)`,
  )
  const first = reasoningAt[0] ?? ended
  const upstreamEnded = upstream.requests[0]?.endedAt ?? ended
  t.ok(
    upstreamEnded - first >= 250,
    `the first delta reached the client ${upstreamEnded - first} ms before the upstream finished`,
  )
  t.ok((contentAt.at(-1) ?? 0) - first >= 250, 'the answer grew over time, not in one burst at the end')
  t.ok(first - started < 250, `the first delta came early (${first - started} ms)`)
  t.same(usageChunks, [], 'a client that did not ask for usage gets no usage chunk')
  t.match(
    upstream.requests[0]?.body,
    { stream: true, stream_options: { include_usage: true } },
    'the gateway asks the upstream for usage anyway',
  )

  upstream.reply({ text: answer, usage: { prompt: 12, completion: 6 } })
  const withUsage = await client.chat.completions.create({
    model: 'deepseek-reasoner',
    messages: [{ role: 'user', content: 'What is 2 + 2?' }],
    stream: true,
    stream_options: { include_usage: true },
  })
  const usages: OpenAI.CompletionUsage[] = []
  let last: OpenAI.ChatCompletionChunk | undefined
  for await (const chunk of withUsage) {
    if (chunk.usage) usages.push(chunk.usage)
    last = chunk
  }
  t.equal(usages.length, 1, 'a client that asked gets exactly one usage chunk')
  t.match(usages[0], { prompt_tokens: 12, completion_tokens: 6, total_tokens: 18 }, "with the upstream's numbers")
  t.same(last?.choices, [], 'the usage chunk is the last one, with no choices')

  // The SDK's accumulating helper checks the chunks fit together.
  upstream.reply({ text: answer, reasoning, usage: { prompt: 12, completion: 40 } })
  const helper = client.chat.completions.stream({
    model: 'deepseek-reasoner',
    messages: [{ role: 'user', content: 'What is 2 + 2?' }],
  })
  const assembled = await helper.finalChatCompletion()
  t.equal(assembled.choices[0]?.message.content, answer, 'chat.completions.stream() assembles the answer')
  t.equal(assembled.choices[0]?.finish_reason, 'stop')

  const rows = await waitForRows(gateway, 3)
  t.equal(rows.length, 3)
  for (const [index, expected] of [
    [0, { prompt_tokens: 12, completion_tokens: 40 }],
    [1, { prompt_tokens: 12, completion_tokens: 6 }],
    [2, { prompt_tokens: 12, completion_tokens: 40 }],
  ] as const) {
    const row = rows[index] as UsageRow
    t.match(
      row,
      {
        ...expected,
        model: 'deepseek-reasoner',
        channel_id: channelId,
        status: 'success',
        endpoint: 'chat.completions',
        user_id: 2,
        token_id: 7,
      },
      `row ${index + 1}`,
    )
    t.notOk(Boolean(row.estimated), `row ${index + 1}: the upstream's counts, not estimated`)
    t.ok(Boolean(row.stream), `row ${index + 1}: streamed`)
  }
  const slow = rows[0] as UsageRow
  t.ok(
    slow.ttfb_ms !== null && slow.latency_ms - slow.ttfb_ms >= 250,
    `ttfb (${slow.ttfb_ms}) is the first byte, latency (${slow.latency_ms}) the last`,
  )
})

t.test('an upstream without usage: the row is estimated with the tokenizer', async t => {
  const upstream = await bootUpstream(t, { keys: [KEY] })
  const gateway = await bootGateway(t)
  await createChannel(gateway, { name: 'main', base_url: upstream.url, keys: [KEY], models: ['gpt-4o-mini'] })
  const client = sdk(gateway, 'token-default')
  const answer = 'The quick brown fox jumps over the lazy dog near the quiet river bank today'
  const messages: OpenAI.ChatCompletionMessageParam[] = [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content: 'Write one sentence about a fox and a dog.' },
  ]

  upstream.reply({ text: answer, usage: false })
  const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages })
  t.equal(completion.choices[0]?.message.content, answer)
  upstream.reply({ text: answer, usage: false })
  let streamed = ''
  for await (const chunk of await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages,
    stream: true,
    stream_options: { include_usage: true },
  })) {
    streamed += chunk.choices[0]?.delta?.content ?? ''
  }
  t.equal(streamed, answer)

  // The Responses API, native (streamed) and translated (not streamed), the same way.
  await createChannel(gateway, {
    name: 'translated',
    base_url: upstream.url,
    keys: [KEY],
    models: ['qwen-plus'],
    settings: { responses_api: 'translate' },
  })
  const input = 'Write one sentence about a fox and a dog.'
  const instructions = 'You are a helpful assistant.'
  upstream.reply({ text: answer, usage: false })
  let nativeText = ''
  for await (const event of await client.responses.create({
    model: 'gpt-4o-mini',
    input,
    instructions,
    stream: true,
  })) {
    if (event.type === 'response.output_text.delta') nativeText += event.delta
  }
  t.equal(nativeText, answer)
  upstream.reply({ text: answer, usage: false })
  const translated = await client.responses.create({ model: 'qwen-plus', input, instructions })
  t.equal(translated.output_text, answer)

  const rows = await waitForRows(gateway, 4)
  const words = wordCount(answer)
  for (const [index, label] of [
    'chat, not streamed',
    'chat, streamed',
    'responses native, streamed',
    'responses translated',
  ].entries()) {
    const row = rows[index] as UsageRow
    t.ok(Boolean(row.estimated), `${label}: estimated`)
    t.equal(row.status, 'success', `${label}: success`)
    t.ok(row.prompt_tokens >= 15 && row.prompt_tokens <= 40, `${label}: plausible prompt tokens (${row.prompt_tokens})`)
    t.ok(
      Math.abs(row.completion_tokens - words) <= 3,
      `${label}: completion tokens (${row.completion_tokens}) close to the ${words} words`,
    )
  }
  const last = rows[3] as UsageRow
  t.match(
    translated.usage,
    { input_tokens: last.prompt_tokens, output_tokens: last.completion_tokens },
    'a translated answer reports the same estimate the row holds',
  )
})

t.test('image content parts reach the upstream unchanged', async t => {
  const upstream = await bootUpstream(t, { keys: [KEY] })
  const gateway = await bootGateway(t)
  await createChannel(gateway, { name: 'main', base_url: upstream.url, keys: [KEY], models: ['gpt-4o'] })
  const client = sdk(gateway, 'token-default')
  const https = 'https://upload.wikimedia.org/wikipedia/commons/3/3a/Cat03.jpg'
  const dataUrl = `data:image/png;base64,${Buffer.from('\x89PNG\r\n\x1a\n not really a png, but bytes all the same').toString('base64')}`
  const messages: OpenAI.ChatCompletionMessageParam[] = [
    {
      role: 'user',
      content: [
        { type: 'text', text: 'What is in these two pictures?' },
        { type: 'image_url', image_url: { url: https, detail: 'high' } },
        { type: 'image_url', image_url: { url: dataUrl } },
      ],
    },
  ]
  upstream.reply({ text: 'Two cats.' })
  const completion = await client.chat.completions.create({ model: 'gpt-4o', messages })
  t.equal(completion.choices[0]?.message.content, 'Two cats.')
  upstream.reply({ text: 'Still two cats.' })
  let streamed = ''
  for await (const chunk of await client.chat.completions.create({ model: 'gpt-4o', messages, stream: true }))
    streamed += chunk.choices[0]?.delta?.content ?? ''
  t.equal(streamed, 'Still two cats.')

  for (const [index, label] of ['not streamed', 'streamed'].entries()) {
    const sent = upstream.requests[index]
    t.same(sent?.images, [https, dataUrl], `${label}: both images, the data URL byte for byte`)
    t.same(sent?.body?.messages, messages, `${label}: the content parts as the client sent them`)
  }

  // The Responses API names them input_image; translated, they become chat image_url parts.
  await createChannel(gateway, {
    name: 'translated',
    base_url: upstream.url,
    keys: [KEY],
    models: ['qwen-vl-max'],
    settings: { responses_api: 'translate' },
  })
  const input: OpenAI.Responses.ResponseInput = [
    {
      role: 'user',
      content: [
        { type: 'input_text', text: 'What is in these two pictures?' },
        { type: 'input_image', image_url: https, detail: 'high' },
        { type: 'input_image', image_url: dataUrl, detail: 'auto' },
      ],
    },
  ]
  upstream.reply({ text: 'Two cats, natively.' })
  t.equal((await client.responses.create({ model: 'gpt-4o', input })).output_text, 'Two cats, natively.')
  t.match(
    upstream.requests[2],
    { path: '/v1/responses', images: [https, dataUrl], body: { input } },
    'native: the input items as the client sent them',
  )
  upstream.reply({ text: 'Two cats, translated.' })
  t.equal((await client.responses.create({ model: 'qwen-vl-max', input })).output_text, 'Two cats, translated.')
  t.match(
    upstream.requests[3],
    { path: '/v1/chat/completions', images: [https, dataUrl] },
    'translated: both images reach the chat upstream',
  )
  t.same(
    upstream.requests[3]?.body?.messages,
    [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is in these two pictures?' },
          { type: 'image_url', image_url: { url: https, detail: 'high' } },
          { type: 'image_url', image_url: { url: dataUrl, detail: 'auto' } },
        ],
      },
    ],
    'translated: input_text and input_image become text and image_url parts',
  )

  // A real photo as a data URL is megabytes: it must pass whole, and count as an image, not as text.
  const photo = `data:image/jpeg;base64,${randomBytes(2_250_000).toString('base64')}`
  upstream.reply({ text: 'A photo.', usage: false })
  const described = await client.chat.completions.create({
    model: 'gpt-4o',
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Describe this photo.' },
          { type: 'image_url', image_url: { url: photo, detail: 'low' } },
        ],
      },
    ],
  })
  t.equal(described.choices[0]?.message.content, 'A photo.')
  t.equal(upstream.requests[4]?.images.length, 1)
  t.ok(
    upstream.requests[4]?.images[0] === photo,
    `the ${Math.round(photo.length / 1e6)} MB data URL arrives byte for byte`,
  )
  const row = (await waitForRows(gateway, 5))[4] as UsageRow
  t.ok(Boolean(row.estimated), 'estimated: the upstream gave no usage')
  t.ok(
    row.prompt_tokens >= 85 && row.prompt_tokens <= 120,
    `a low-detail image counts 85 tokens, not its base64 text (${row.prompt_tokens})`,
  )
})

t.test('a model alias: the upstream gets its own name, the row keeps the catalog name', async t => {
  const upstream = await bootUpstream(t, { keys: [KEY] })
  const gateway = await bootGateway(t)
  await createChannel(gateway, {
    name: 'main',
    base_url: upstream.url,
    keys: [KEY],
    models: [{ model: 'fast', upstream_model: 'gpt-4o-mini' }],
  })
  const client = sdk(gateway, 'token-default')

  upstream.reply({ text: 'quick answer', usage: { prompt: 3, completion: 2 } })
  const completion = await client.chat.completions.create({
    model: 'fast',
    messages: [{ role: 'user', content: 'hi' }],
  })
  t.equal(completion.choices[0]?.message.content, 'quick answer')
  t.equal(
    completion.model,
    'gpt-4o-mini',
    "the answer carries the upstream's name, as docs/data-plane.md says (new-api does the same)",
  )
  upstream.reply({ text: 'quick stream', usage: { prompt: 3, completion: 2 } })
  let streamed = ''
  for await (const chunk of await client.chat.completions.create({
    model: 'fast',
    messages: [{ role: 'user', content: 'hi' }],
    stream: true,
  }))
    streamed += chunk.choices[0]?.delta?.content ?? ''
  t.equal(streamed, 'quick stream')
  upstream.reply({ text: 'quick response' })
  t.equal((await client.responses.create({ model: 'fast', input: 'hi' })).output_text, 'quick response')

  t.same(
    upstream.requests.map(request => request.body?.model),
    ['gpt-4o-mini', 'gpt-4o-mini', 'gpt-4o-mini'],
    'the upstream name on every path',
  )
  const rows = await waitForRows(gateway, 3)
  t.same(
    rows.map(row => row.model),
    ['fast', 'fast', 'fast'],
    'the rows keep the name the client asked for',
  )
  t.equal(
    await statusOf(
      client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    ),
    404,
    'the upstream name itself is not a catalog model',
  )
})

t.test("Responses API, native: passthrough to the upstream's /v1/responses, streamed and not", async t => {
  const upstream = await bootUpstream(t, { keys: [KEY] })
  const gateway = await bootGateway(t)
  const channelId = await createChannel(gateway, {
    name: 'openai',
    base_url: upstream.url,
    keys: [KEY],
    models: ['o4-mini'],
  })
  const client = sdk(gateway, 'token-default')
  const answer = 'Light travels about 300000 km per second.'
  const summary = 'Recall the speed of light and round it.'

  upstream.reply({ text: answer, reasoning: summary, usage: { prompt: 21, completion: 30, reasoning: 20 } })
  const response = await client.responses.create({
    model: 'o4-mini',
    input: 'How fast is light?',
    instructions: 'Answer in one sentence.',
    reasoning: { summary: 'auto' },
  })
  t.equal(response.output_text, answer)
  t.equal(response.status, 'completed')
  const reasoningItem = response.output.find(item => item.type === 'reasoning')
  t.same(
    reasoningItem?.type === 'reasoning' ? reasoningItem.summary.map(part => part.text) : [],
    [summary],
    'the reasoning summary item is carried',
  )
  t.match(response.usage, {
    input_tokens: 21,
    output_tokens: 30,
    total_tokens: 51,
    output_tokens_details: { reasoning_tokens: 20 },
  })
  t.match(upstream.requests[0], {
    path: '/v1/responses',
    apiKey: KEY,
    body: {
      model: 'o4-mini',
      input: 'How fast is light?',
      instructions: 'Answer in one sentence.',
      reasoning: { summary: 'auto' },
    },
  })

  upstream.reply({
    text: answer,
    reasoning: summary,
    usage: { prompt: 21, completion: 30, reasoning: 20 },
    chunkDelayMs: 5,
  })
  // The raw event stream: the mock's reasoning events omit response.reasoning_summary_part.added,
  // which the SDK's accumulating responses.stream() helper requires (see the no-reasoning call below).
  const types: string[] = []
  let reasoningDeltas = ''
  let textDeltas = ''
  let completed: OpenAI.Responses.Response | undefined
  for await (const event of await client.responses.create({
    model: 'o4-mini',
    input: 'How fast is light?',
    stream: true,
  })) {
    types.push(event.type)
    if (event.type === 'response.reasoning_summary_text.delta') reasoningDeltas += event.delta
    if (event.type === 'response.output_text.delta') textDeltas += event.delta
    if (event.type === 'response.completed') completed = event.response
  }
  t.equal(types[0], 'response.created', 'the stream opens with response.created')
  t.equal(types.at(-1), 'response.completed', 'and ends with response.completed')
  t.equal(reasoningDeltas, summary, 'reasoning summary deltas are carried')
  t.ok(types.includes('response.reasoning_summary_text.done'), 'and their done event')
  t.equal(textDeltas, answer)
  t.match(completed?.usage, { input_tokens: 21, output_tokens: 30 }, "response.completed carries the upstream's usage")
  t.match(upstream.requests[1], { path: '/v1/responses', stream: true })
  t.notOk(
    upstream.requests[1]?.body && 'stream_options' in upstream.requests[1].body,
    'no chat-only stream_options on a Responses call',
  )

  upstream.reply({ text: answer, usage: { prompt: 21, completion: 10 }, chunkDelayMs: 5 })
  const stream = client.responses.stream({ model: 'o4-mini', input: 'How fast is light?' })
  let snapshots = 0
  stream.on('response.output_text.delta', () => void snapshots++)
  const final = await stream.finalResponse()
  t.equal(final.output_text, answer, "the SDK's stream helper assembles the final response")
  t.equal(snapshots, wordCount(answer), 'one text delta per streamed word')
  t.match(final.usage, { input_tokens: 21, output_tokens: 10 })

  const rows = await waitForRows(gateway, 3)
  for (const [index, row] of rows.entries()) {
    t.match(
      row,
      {
        endpoint: 'responses',
        model: 'o4-mini',
        channel_id: channelId,
        prompt_tokens: 21,
        completion_tokens: index === 2 ? 10 : 30,
        status: 'success',
        token_id: 7,
      },
      `row ${index + 1}`,
    )
    t.notOk(Boolean(row.estimated), `row ${index + 1}: not estimated`)
    t.equal(Boolean(row.stream), index > 0, `row ${index + 1}: stream flag`)
  }
})

t.test(
  'Responses API, translated (responses_api: translate): chat completions upstream, a real Responses answer to the client',
  async t => {
    const upstream = await bootUpstream(t, { keys: [KEY] })
    const gateway = await bootGateway(t)
    await createChannel(gateway, {
      name: 'deepseek',
      base_url: upstream.url,
      keys: [KEY],
      models: ['deepseek-reasoner'],
      settings: { responses_api: 'translate' },
    })
    const client = sdk(gateway, 'token-default')
    const answer = 'Blue light scatters more than red light.'
    const reasoning = 'Rayleigh scattering grows with frequency.'

    upstream.reply({ text: answer, reasoning, usage: { prompt: 14, completion: 19 } })
    const response = await client.responses.create({
      model: 'deepseek-reasoner',
      input: 'Why is the sky blue?',
      instructions: 'Be brief.',
      max_output_tokens: 200,
    })
    t.equal(response.object, 'response')
    t.equal(response.status, 'completed')
    t.equal(response.model, 'deepseek-reasoner')
    t.equal(response.output_text, answer, 'output_text from the chat answer')
    const reasoningItem = response.output.find(item => item.type === 'reasoning')
    t.same(
      reasoningItem?.type === 'reasoning' ? reasoningItem.summary.map(part => part.text) : [],
      [reasoning],
      'reasoning_content becomes a reasoning item',
    )
    t.match(response.usage, { input_tokens: 14, output_tokens: 19, total_tokens: 33 })
    const sent = upstream.requests[0]
    t.equal(sent?.path, '/v1/chat/completions', 'the upstream is asked for a chat completion')
    t.match(sent?.body, {
      model: 'deepseek-reasoner',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Why is the sky blue?' },
      ],
      max_tokens: 200,
    })
    t.notOk(sent?.body && 'input' in sent.body, 'no Responses fields in the chat request')

    upstream.reply({ text: answer, reasoning, usage: { prompt: 14, completion: 19 }, chunkDelayMs: 5 })
    const stream = client.responses.stream({
      model: 'deepseek-reasoner',
      input: [{ role: 'user', content: 'Why is the sky blue?' }],
    })
    const types: string[] = []
    const sequence: number[] = []
    let textDeltas = ''
    let reasoningDeltas = ''
    let completed: OpenAI.Responses.Response | undefined
    for await (const event of stream) {
      types.push(event.type)
      sequence.push(event.sequence_number)
      if (event.type === 'response.output_text.delta') textDeltas += event.delta
      if (event.type === 'response.reasoning_summary_text.delta') reasoningDeltas += event.delta
      if (event.type === 'response.completed') completed = event.response
    }
    const final = await stream.finalResponse()
    t.same(types.slice(0, 2), ['response.created', 'response.in_progress'])
    t.equal(types.at(-1), 'response.completed')
    t.ok(
      types.includes('response.output_text.delta') && types.includes('response.output_text.done'),
      'text deltas and their done event',
    )
    t.same(
      sequence,
      sequence.map((_, index) => index),
      'sequence numbers count up from 0',
    )
    t.equal(textDeltas, answer)
    t.equal(reasoningDeltas, reasoning)
    t.match(completed?.usage, { input_tokens: 14, output_tokens: 19 }, 'response.completed carries the usage')
    t.equal(final.output_text, answer, 'the SDK assembles the final response from the events')
    t.equal(upstream.requests[1]?.path, '/v1/chat/completions')

    const rows = await waitForRows(gateway, 2)
    t.same(
      rows.map(row => [row.endpoint, row.prompt_tokens, row.completion_tokens, Boolean(row.estimated), row.status]),
      [
        ['responses', 14, 19, false, 'success'],
        ['responses', 14, 19, false, 'success'],
      ],
    )
  },
)

t.test('a translated Responses call carries the conversation, tools and tool_choice in chat form', async t => {
  const upstream = await bootUpstream(t, { keys: [KEY] })
  const gateway = await bootGateway(t)
  await createChannel(gateway, {
    name: 'deepseek',
    base_url: upstream.url,
    keys: [KEY],
    models: ['deepseek-chat'],
    settings: { responses_api: 'translate' },
  })
  const client = sdk(gateway, 'token-default')
  const parameters = {
    type: 'object',
    properties: { city: { type: 'string' } },
    required: ['city'],
    additionalProperties: false,
  }
  const input: OpenAI.Responses.ResponseInput = [
    { role: 'user', content: 'What is the weather in Paris?' },
    { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
    { type: 'function_call_output', call_id: 'call_1', output: '{"celsius":21}' },
  ]
  upstream.reply({ text: 'It is 21 °C in Paris.' })
  const response = await client.responses.create({
    model: 'deepseek-chat',
    input,
    tools: [{ type: 'function', name: 'get_weather', description: 'Weather by city', parameters, strict: true }],
    tool_choice: 'auto',
    temperature: 0.3,
  })
  t.equal(response.output_text, 'It is 21 °C in Paris.')
  t.match(upstream.requests[0]?.body, {
    model: 'deepseek-chat',
    temperature: 0.3,
    tool_choice: 'auto',
    messages: [
      { role: 'user', content: 'What is the weather in Paris?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '{"celsius":21}' },
    ],
    tools: [
      { type: 'function', function: { name: 'get_weather', description: 'Weather by city', parameters, strict: true } },
    ],
  })

  // Responses names a forced function { type, name }; chat completions wants { type, function: { name } }.
  upstream.reply({ text: 'ok' })
  const forced = await statusOf(
    client.responses.create({
      model: 'deepseek-chat',
      input: 'Weather in Paris?',
      tools: [{ type: 'function', name: 'get_weather', parameters, strict: true }],
      tool_choice: { type: 'function', name: 'get_weather' },
    }),
  )
  t.equal(forced, 200)
  t.same(
    upstream.requests[1]?.body?.tool_choice,
    { type: 'function', function: { name: 'get_weather' } },
    'a forced function choice is translated to the chat form',
  )
})

t.test('errors the client can act on, never a 500', async t => {
  const upstream = await bootUpstream(t, { keys: [KEY, OTHER_KEY] })
  const gateway = await bootGateway(t)
  await createChannel(gateway, {
    name: 'main',
    base_url: upstream.url,
    keys: [KEY, OTHER_KEY],
    models: ['gpt-4o-mini'],
  })
  await createChannel(gateway, {
    name: 'translated',
    base_url: upstream.url,
    keys: [KEY],
    models: ['deepseek-chat'],
    settings: { responses_api: 'translate' },
  })
  const client = sdk(gateway, 'token-default')
  const hi: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'hi' }]

  t.test('an unknown model is a 404 model_not_found', async t => {
    const error = await client.chat.completions.create({ model: 'gpt-9', messages: hi }).catch((e: unknown) => e)
    t.ok(error instanceof OpenAI.NotFoundError, 'the SDK raises NotFoundError')
    t.match(error, { status: 404, type: 'model_not_found' })
    t.match((error as Error).message, /gpt-9/, 'the message names the model')
    const responses = await client.responses.create({ model: 'gpt-9', input: 'hi' }).catch((e: unknown) => e)
    t.ok(responses instanceof OpenAI.NotFoundError, 'the same on /v1/responses')
    t.equal(upstream.requests.length, 0, 'nothing went upstream')
  })

  t.test("an upstream 400 reaches the client as a 400 with the upstream's message", async t => {
    const before = upstream.requests.length
    const message = "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 7 instead."
    upstream.reply({ status: 400, message, param: 'temperature', code: 'decimal_above_max_value' })
    const error = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: hi, temperature: 7 })
      .catch((e: unknown) => e)
    t.ok(error instanceof OpenAI.BadRequestError, 'the SDK raises BadRequestError')
    t.match(error, { status: 400, param: 'temperature', error: { message } })
    upstream.reply({ status: 400, message })
    const streamed = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: hi, temperature: 7, stream: true })
      .catch((e: unknown) => e)
    t.match(streamed, { status: 400, error: { message } }, 'a stream refused before its first byte is an HTTP 400 too')
    t.equal(upstream.requests.length - before, 2, 'a refused request is not retried with the other key')

    upstream.reply({ status: 400, message: `This model does not accept key ${KEY} for tools.` })
    const quoted = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: hi }).catch((e: unknown) => e)
    t.match(quoted, { status: 400, error: { message: /This model does not accept key .* for tools\./ } })
    t.notMatch((quoted as Error).message, KEY, 'a key the upstream quotes is masked')

    upstream.reply({ status: 400, message: "Invalid 'max_tokens': integer above maximum value." })
    const translated = await client.responses
      .create({ model: 'deepseek-chat', input: 'hi', max_output_tokens: 1_000_000 })
      .catch((e: unknown) => e)
    t.ok(translated instanceof OpenAI.BadRequestError, 'translated Responses call: BadRequestError too')
    t.match(
      translated,
      { status: 400, error: { message: "Invalid 'max_tokens': integer above maximum value." } },
      "with the upstream's message",
    )
  })

  t.test('missing credentials and guests are refused on /v1 with 401', async t => {
    for (const path of ['/v1/chat/completions', '/v1/responses']) {
      const anonymous = await post(gateway, path, { model: 'gpt-4o-mini', messages: hi, input: 'hi' })
      t.equal(anonymous.status, 401, `${path}: no credentials`)
      t.match(await anonymous.json(), { error: { type: 'unauthorized', message: String } })
      const guest = await post(
        gateway,
        path,
        { model: 'gpt-4o-mini', messages: hi, input: 'hi' },
        { 'x-guest': 'default' },
      )
      t.equal(guest.status, 401, `${path}: a guest`)
      t.match(await guest.json(), { error: { type: 'unauthorized', message: /token/i } })
    }
    const wrongKey = await new OpenAI({
      apiKey: 'sk-not-a-parley-token',
      baseURL: `${gateway.url}/v1`,
      maxRetries: 0,
    }).chat.completions
      .create({ model: 'gpt-4o-mini', messages: hi })
      .catch((e: unknown) => e)
    t.ok(wrongKey instanceof OpenAI.AuthenticationError, 'the SDK raises AuthenticationError for an unknown token')
  })

  t.test('an invalid body is a 400 naming the field', async t => {
    const auth = { authorization: 'Bearer token-default' }
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['/v1/chat/completions', { model: 'gpt-4o-mini' }, /messages/],
      ['/v1/chat/completions', { model: 'gpt-4o-mini', messages: [] }, /messages/],
      ['/v1/chat/completions', { messages: hi }, /model/],
      ['/v1/chat/completions', { model: 'gpt-4o-mini', messages: [{ role: 'wizard', content: 'hi' }] }, /role/],
      ['/v1/responses', { model: 'gpt-4o-mini' }, /input/],
    ]
    for (const [path, body, field] of cases) {
      const response = await post(gateway, path, body, auth)
      const text = await response.text()
      t.equal(response.status, 400, `${path} ${JSON.stringify(body)}: 400`)
      t.match(JSON.parse(text), { error: { message: field } }, `names the field: ${text}`)
    }
    const sdkError = await client.chat.completions
      .create({ model: 'gpt-4o-mini' } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming)
      .catch((e: unknown) => e)
    t.ok(sdkError instanceof OpenAI.BadRequestError, 'the SDK raises BadRequestError')
  })

  t.test('routed failures are error rows; refusals before routing record nothing', async t => {
    const rows = await usageRows(gateway)
    t.same(
      rows.map(row => [row.endpoint, row.status, row.prompt_tokens, row.completion_tokens, Boolean(row.estimated)]),
      [
        ['chat.completions', 'error', 0, 0, false],
        ['responses', 'error', 0, 0, false],
        ['chat.completions', 'error', 0, 0, false],
        ['chat.completions', 'error', 0, 0, false],
        ['chat.completions', 'error', 0, 0, false],
        ['responses', 'error', 0, 0, false],
      ],
      'one error row per routed call, 0 tokens and not estimated: it produced nothing',
    )
    t.same(
      rows.slice(0, 2).map(row => row.error_type),
      ['model_not_found', 'model_not_found'],
    )
    t.ok(
      rows.slice(2).every(row => row.error_type !== null),
      'upstream refusals carry an error type',
    )
  })
})

t.test("a channel's keys take turns, and its extra headers go upstream without overriding the key", async t => {
  const upstream = await bootUpstream(t, { keys: [KEY, OTHER_KEY] })
  const gateway = await bootGateway(t)
  const extra = { 'HTTP-Referer': 'https://parley.example', 'X-Title': 'Parley' }
  for (const reserved of ['Authorization', 'x-api-key', 'Connection', 'Transfer-Encoding', 'Host']) {
    const refused = await gateway.inject({
      method: 'POST',
      url: '/api/admin/channels',
      headers: { authorization: 'Bearer root' },
      payload: {
        provider: 'openai',
        name: 'openrouter',
        base_url: upstream.url,
        keys: [KEY],
        settings: { headers: { ...extra, [reserved]: 'Bearer sk-from-settings' } },
      },
    })
    t.equal(refused.statusCode, 400, `${reserved} is refused`)
    t.match(refused.json(), { error: { code: 'PARLEY_ERR_CATALOG_HEADER_RESERVED', message: new RegExp(reserved) } })
  }
  const listed = await gateway.inject({
    method: 'GET',
    url: '/api/admin/channels',
    headers: { authorization: 'Bearer root' },
  })
  t.equal(listed.json().total, 0, 'nothing was saved')
  await createChannel(gateway, {
    name: 'openrouter',
    base_url: upstream.url,
    keys: [KEY, OTHER_KEY],
    models: ['gpt-4o-mini'],
    settings: { headers: extra },
  })
  const client = sdk(gateway, 'token-default')
  for (let i = 0; i < 4; i++)
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `call ${i}` }] })

  const keys = upstream.requests.map(request => request.apiKey)
  t.equal(keys.length, 4)
  t.same(new Set(keys), new Set([KEY, OTHER_KEY]), 'both keys carry traffic')
  t.ok(
    keys.every((key, i) => i === 0 || key !== keys[i - 1]),
    `they alternate: ${keys.map(key => key?.slice(8, 13)).join(', ')}`,
  )
  for (const request of upstream.requests) {
    t.match(request.headers, { 'http-referer': 'https://parley.example', 'x-title': 'Parley' }, 'the extra headers')
    t.not(request.apiKey, 'sk-from-settings', 'a header setting never replaces the channel key')
  }
})

t.test('portal chat: guests and users, chat routes, the portal token on /v1', async t => {
  const main = await bootUpstream(t, { keys: [KEY], defaultBehaviour: { text: 'from the main channel' } })
  const chat = await bootUpstream(t, { keys: [OTHER_KEY], defaultBehaviour: { text: 'from the chat channel' } })
  const gateway = await bootGateway(t)
  const mainId = await createChannel(gateway, {
    name: 'main',
    base_url: main.url,
    keys: [KEY],
    models: ['gpt-4o-mini', 'gpt-4o'],
    priority: 10,
  })
  const chatId = await createChannel(gateway, {
    name: 'chat',
    base_url: chat.url,
    keys: [OTHER_KEY],
    models: ['gpt-4o-mini'],
    priority: 0,
  })
  const hi: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'hi' }]

  /** The portal as its page calls it: fetch, streamed SSE. */
  const portal = async (headers: Record<string, string>, model = 'gpt-4o-mini') => {
    const response = await post(gateway, '/api/chat/completions', { model, messages: hi, stream: true }, headers)
    if (!(response.headers.get('content-type') ?? '').startsWith('text/event-stream'))
      return { status: response.status, text: '', body: await response.json() }
    const events = await readSse(response)
    t.equal(events.at(-1)?.data, '[DONE]', 'the portal stream ends with [DONE]')
    const text = events
      .filter(event => event.data !== '[DONE]')
      .map(event => (JSON.parse(event.data) as OpenAI.ChatCompletionChunk).choices[0]?.delta?.content ?? '')
      .join('')
    return { status: response.status, text, body: undefined }
  }
  const v1 = async (token: string, headers: Record<string, string> = {}) => {
    const completion = await sdk(gateway, token, { headers }).chat.completions.create({
      model: 'gpt-4o-mini',
      messages: hi,
    })
    return completion.choices[0]?.message.content
  }

  t.match(
    await portal({ 'x-guest': 'default' }),
    { status: 200, text: 'from the main channel' },
    'without a route the portal follows priority',
  )
  let portalText = ''
  for await (const chunk of await sdk(gateway, 'user-default', { path: '/api' }).chat.completions.create({
    model: 'gpt-4o-mini',
    messages: hi,
    stream: true,
  })) {
    portalText += chunk.choices[0]?.delta?.content ?? ''
  }
  t.equal(portalText, 'from the main channel', 'a signed-in user through the SDK (baseURL /api)')

  await createChatRoute(gateway, 'default', chatId)
  t.match(
    await portal({ 'x-guest': 'default' }),
    { status: 200, text: 'from the chat channel' },
    'a guest follows the chat route',
  )
  t.match(
    await portal({ authorization: 'Bearer user-default' }),
    { status: 200, text: 'from the chat channel' },
    'a user follows the chat route',
  )
  t.equal(await v1('token-default'), 'from the main channel', '/v1 of the same user keeps the normal routing')
  t.equal(
    await v1('portal-default', { 'X-Parley-Chat': '1' }),
    'from the chat channel',
    'the portal token with X-Parley-Chat: 1 follows the chat route',
  )
  t.equal(await v1('portal-default'), 'from the main channel', 'the portal token without the header does not')
  t.equal(
    await v1('token-default', { 'X-Parley-Chat': '1' }),
    'from the main channel',
    'the header with another token does not',
  )
  t.match(
    await portal({ 'x-guest': 'vip' }),
    { status: 404 },
    'a group the route does not cover and no channel serves: 404',
  )

  const refused = await portal({ 'x-guest': 'default' }, 'gpt-4o')
  t.match(
    refused,
    { status: 400, body: { error: { type: 'model_not_on_chat_channel', message: /gpt-4o/ } } },
    'a model the chat channel does not serve: 400',
  )
  const refusedV1 = await sdk(gateway, 'portal-default', { headers: { 'X-Parley-Chat': '1' } })
    .chat.completions.create({ model: 'gpt-4o', messages: hi })
    .catch((e: unknown) => e)
  t.match(refusedV1, { status: 400, type: 'model_not_on_chat_channel' }, 'the same for the portal token on /v1')
  t.equal(
    await statusOf(sdk(gateway, 'token-default').chat.completions.create({ model: 'gpt-4o', messages: hi })),
    200,
    'while /v1 still serves it',
  )

  t.equal(chat.requests.length, 3, 'the chat channel served exactly the routed calls')
  t.ok(chat.requests.every(request => request.apiKey === OTHER_KEY))

  const rows = await waitForRows(gateway, 12)
  const portalRows = rows.filter(row => row.endpoint === 'portal')
  t.same(
    portalRows.map(row => [row.principal_kind, row.user_id, row.channel_name, row.status]),
    [
      ['guest', null, 'main', 'success'],
      ['user', 2, 'main', 'success'],
      ['guest', null, 'chat', 'success'],
      ['user', 2, 'chat', 'success'],
      ['guest', null, null, 'error'],
      ['guest', null, null, 'error'],
    ],
    'portal rows: endpoint portal, who called, which channel',
  )
  t.same(
    rows.filter(row => row.endpoint === 'chat.completions').map(row => [row.token_id, row.channel_id, row.status]),
    [
      [7, mainId, 'success'],
      [8, chatId, 'success'],
      [8, mainId, 'success'],
      [7, mainId, 'success'],
      [8, null, 'error'],
      [7, mainId, 'success'],
    ],
    '/v1 rows stay chat.completions, even when chat-routed',
  )
})

t.test('POST /api/admin/channels/:id/test', async t => {
  const upstream = await bootUpstream(t, { keys: [KEY], defaultBehaviour: { text: 'pong' } })
  const gateway = await bootGateway(t)
  const test = (id: number, payload: Record<string, unknown> = {}, token = ROOT) =>
    gateway.inject({
      method: 'POST',
      url: `/api/admin/channels/${id}/test`,
      headers: { authorization: `Bearer ${token}` },
      payload,
    })

  t.test('a good key: ok, latency and the reply', async t => {
    const id = await createChannel(gateway, {
      name: 'good',
      base_url: upstream.url,
      keys: [KEY],
      models: [{ model: 'fast', upstream_model: 'gpt-4o-mini' }],
    })
    const before = upstream.requests.length
    const response = await test(id)
    t.equal(response.statusCode, 200, response.body)
    const body = response.json()
    t.match(body, {
      ok: true,
      model: 'fast',
      upstream_model: 'gpt-4o-mini',
      results: [{ ok: true, reply: 'pong', key_id: Number, hint: String }],
    })
    t.equal(body.results.length, 1)
    t.ok(typeof body.results[0].latency_ms === 'number' && body.results[0].latency_ms >= 0, 'latency is measured')
    t.equal(upstream.requests.length - before, 1, 'one real round trip')
    t.match(upstream.requests.at(-1), { path: '/v1/chat/completions', apiKey: KEY, body: { model: 'gpt-4o-mini' } })
    t.notMatch(response.body, KEY, 'the key is never in the answer')
    t.same(await usageRows(gateway), [], "a channel test is no one's call: no usage row")
  })

  t.test('one bad key among two: a result per key, the key never in a message', async t => {
    const id = await createChannel(gateway, {
      name: 'mixed',
      base_url: upstream.url,
      keys: [BAD_KEY, KEY],
      models: ['gpt-4o-mini'],
    })
    const response = await test(id)
    t.equal(response.statusCode, 200, response.body)
    const body = response.json() as {
      ok: boolean
      results: Array<{ ok: boolean; hint: string; status?: number; error?: string; reply?: string }>
    }
    t.equal(body.ok, false, 'not ok while one key fails')
    t.equal(body.results.length, 2, 'one result per key')
    const bad = body.results.find(result => result.hint.endsWith(BAD_KEY.slice(-4)))
    const good = body.results.find(result => result.hint.endsWith(KEY.slice(-4)))
    t.match(bad, { ok: false, status: 401, error: String })
    t.match(good, { ok: true, reply: 'pong' })
    t.notMatch(response.body, BAD_KEY, 'the bad key is nowhere in the answer')
    t.notMatch(response.body, KEY, 'nor the good one')
  })

  t.test('an upstream that quotes the key back: the message is scrubbed', async t => {
    const echo = await bootUpstream(t)
    const id = await createChannel(gateway, {
      name: 'echo',
      base_url: echo.url,
      keys: [BAD_KEY],
      models: ['gpt-4o-mini'],
    })
    echo.reply({
      status: 401,
      message: `Incorrect API key provided: ${BAD_KEY}. You can find your API key at https://platform.openai.com/account/api-keys.`,
      code: 'invalid_api_key',
    })
    const response = await test(id)
    t.match(response.json(), { ok: false, results: [{ ok: false, status: 401, error: /Incorrect API key provided/ }] })
    t.notMatch(response.body, BAD_KEY, 'the quoted key is cut out')
  })

  t.test('no model on the channel and none given: 400; a given model is used', async t => {
    const id = await createChannel(gateway, { name: 'empty', base_url: upstream.url, keys: [KEY], models: [] })
    const refused = await test(id)
    t.equal(refused.statusCode, 400)
    t.match(refused.json(), { error: { message: /model/ } })
    const named = await test(id, { model: 'gpt-4o' })
    t.match(named.json(), {
      ok: true,
      model: 'gpt-4o',
      upstream_model: 'gpt-4o',
      results: [{ ok: true, reply: 'pong' }],
    })
    t.equal(upstream.requests.at(-1)?.body?.model, 'gpt-4o')
  })

  t.test('a disabled channel can be tested, one key at a time', async t => {
    const id = await createChannel(gateway, {
      name: 'dormant',
      base_url: upstream.url,
      keys: [BAD_KEY, KEY],
      models: ['gpt-4o-mini'],
      enabled: false,
    })
    const view = (
      await gateway.inject({ url: `/api/admin/channels/${id}`, headers: { authorization: `Bearer ${ROOT}` } })
    ).json() as { keys: Array<{ id: number; hint: string }> }
    const good = view.keys.find(key => key.hint.endsWith(KEY.slice(-4)))
    t.ok(good, 'the good key is listed')
    const before = upstream.requests.length
    const response = await test(id, { key_id: good?.id })
    t.equal(response.statusCode, 200, response.body)
    t.match(response.json(), { ok: true, results: [{ key_id: good?.id, ok: true, reply: 'pong' }] })
    t.equal(response.json().results.length, 1, 'only the key asked for')
    t.equal(upstream.requests.length - before, 1)
    t.equal(upstream.requests.at(-1)?.apiKey, KEY)
    const foreign = await test(id, { key_id: 999_999 })
    t.equal(foreign.statusCode, 400, 'a key the channel does not have: 400')
    t.match(foreign.json(), { error: { message: /999999/ } })
  })

  t.test('only admins may test', async t => {
    const id = await createChannel(gateway, {
      name: 'guarded',
      base_url: upstream.url,
      keys: [KEY],
      models: ['gpt-4o-mini'],
    })
    const before = upstream.requests.length
    t.equal((await test(id, {}, 'user-default')).statusCode, 403, 'a signed-in user: 403')
    t.equal((await test(id, {}, 'token-default')).statusCode, 401, 'an API token: 401')
    t.equal(
      (await gateway.inject({ method: 'POST', url: `/api/admin/channels/${id}/test`, payload: {} })).statusCode,
      401,
      'anonymous: 401',
    )
    t.equal(upstream.requests.length, before, 'no round trip for them')
  })
})

t.test("end to end with the identity plugin: a user's API token through the SDK", async t => {
  const logs = captureLogs()
  const upstream = await bootUpstream(t, { keys: [KEY] })
  const gateway = await createTestGateway({
    plugins: [identity, openai],
    listen: true,
    logger: logs.logger,
    config: { admin: { username: 'admin', password: 'admin-password-for-tests' } },
  })
  t.teardown(gateway.close)

  const adminLogin = await gateway.inject({
    method: 'POST',
    url: '/api/auth/admin/login',
    payload: { username: 'admin', password: 'admin-password-for-tests' },
  })
  t.equal(adminLogin.statusCode, 200, adminLogin.body)
  const admin = (adminLogin.json() as { access_token: string }).access_token
  const channelId = await createChannel(
    gateway,
    { name: 'main', base_url: upstream.url, keys: [KEY], models: ['gpt-4o-mini'] },
    admin,
  )

  const password = 'correct-horse-battery'
  const registered = await gateway.inject({
    method: 'POST',
    url: '/api/auth/register',
    payload: { email: 'ada@example.com', username: 'Ada', password, password_confirm: password },
  })
  t.equal(registered.statusCode, 201, registered.body)
  const session = registered.json() as { access_token: string; user: { id: number } }
  const created = await gateway.inject({
    method: 'POST',
    url: '/api/tokens',
    headers: { authorization: `Bearer ${session.access_token}` },
    payload: { name: 'scripts' },
  })
  t.equal(created.statusCode, 201, created.body)
  const token = created.json() as { id: number; token: string }

  upstream.reply({ text: 'Hello Ada.', usage: { prompt: 9, completion: 3 } })
  const client = new OpenAI({ apiKey: token.token, baseURL: `${gateway.url}/v1`, maxRetries: 0 })
  const completion = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Say hello to Ada.' }],
  })
  t.equal(completion.choices[0]?.message.content, 'Hello Ada.')
  upstream.reply({ text: 'Hello again.', usage: { prompt: 9, completion: 2 } })
  let streamed = ''
  for await (const chunk of await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Again.' }],
    stream: true,
  }))
    streamed += chunk.choices[0]?.delta?.content ?? ''
  t.equal(streamed, 'Hello again.')
  t.equal(upstream.requests[0]?.apiKey, KEY, "the channel key went upstream, not the user's token")
  upstream.reply({ text: 'Hello by header.', usage: { prompt: 9, completion: 3 } })
  const byHeader = await post(
    gateway,
    '/v1/chat/completions',
    { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi.' }] },
    { 'x-api-key': token.token },
  )
  t.equal(byHeader.status, 200, 'the token works as x-api-key too')
  t.match(await byHeader.json(), { choices: [{ message: { content: 'Hello by header.' } }] })

  const rows = await waitForRows(gateway, 3)
  t.same(
    rows.map(row => [
      row.principal_kind,
      row.user_id,
      row.token_id,
      row.username,
      row.channel_id,
      row.prompt_tokens,
      row.completion_tokens,
      row.status,
    ]),
    [
      ['api_token', session.user.id, token.id, 'Ada', channelId, 9, 3, 'success'],
      ['api_token', session.user.id, token.id, 'Ada', channelId, 9, 2, 'success'],
      ['api_token', session.user.id, token.id, 'Ada', channelId, 9, 3, 'success'],
    ],
    'the rows carry the user and the token',
  )

  t.ok(logs.lines.length > 0, 'the gateway logged')
  t.same(logs.containing(token.token), [], 'the API token is in no log line')
  t.same(logs.containing(token.token.slice(4, 20)), [], 'nor any long piece of it')
  t.same(logs.containing(KEY), [], 'the channel key is in no log line')
  const stored = JSON.stringify(await gateway.db.em().getConnection().execute('select * from catalog_channel_keys'))
  t.notOk(stored.includes(KEY), 'the channel key is sealed in catalog_channel_keys')
  t.notOk(stored.includes(KEY.slice(8, 24)), 'not even in part')
})
