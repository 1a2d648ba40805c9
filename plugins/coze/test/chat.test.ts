import type OpenAI from 'openai'
import t, { type Test } from 'tap'
import {
  BOT,
  bootCoze,
  cozeChannel,
  mockCoze,
  OTHER_BOT,
  pat,
  post,
  readSse,
  sdk,
  usageRows,
  waitForRows,
  type UsageRow,
} from './helpers.js'

// The chat itself over a channel with a personal access token: the SDK as the client, Parley in
// the middle, the mock Coze API behind it. OAuth lives in oauth.test.ts, failures in errors.test.ts.

type Reasoning = { reasoning_content?: string | null }

function only(t: Test, rows: readonly UsageRow[]): UsageRow & { estimated: boolean; stream: boolean } {
  t.equal(rows.length, 1, 'exactly one usage row')
  const row = rows[0] as UsageRow
  return { ...row, estimated: Boolean(row.estimated), stream: Boolean(row.stream) }
}

t.test(
  "chat completions, not streamed: the whole conversation goes to the bot, the answer and Coze's counts come back",
  async t => {
    const key = pat()
    const coze = await mockCoze(t, undefined, { pats: [key] })
    const { gateway } = await bootCoze(t)
    const channelId = await cozeChannel(gateway, coze, { keys: [key] })
    coze.reply({ text: 'Paris, as before.', usage: { input: 41, output: 9 } })

    const { data: completion, response } = await sdk(gateway, 'token-default')
      .chat.completions.create({
        model: 'coze-bot',
        temperature: 0.3,
        messages: [
          { role: 'system', content: 'Answer in one line.' },
          { role: 'user', content: 'What is the capital of France?' },
          { role: 'assistant', content: 'Paris.' },
          { role: 'user', content: [{ type: 'text', text: 'And again?' }] },
        ],
      })
      .withResponse()
    t.equal(
      completion.choices[0]?.message.content,
      'Paris, as before.',
      'only the answer: the verbose and follow-up messages are not part of it',
    )
    t.equal(completion.choices[0]?.finish_reason, 'stop')
    t.match(
      completion.usage,
      { prompt_tokens: 41, completion_tokens: 9, total_tokens: 50 },
      "Coze's input_count and output_count",
    )
    t.equal(completion.model, 'coze-bot')

    t.equal(coze.chats.length, 1)
    const sent = coze.chats[0]
    t.equal(sent?.token, key, 'the PAT is the Bearer token')
    t.same(
      sent?.body,
      {
        bot_id: BOT,
        user_id: 'user-2',
        stream: true,
        additional_messages: [
          { role: 'user', type: 'question', content: 'Answer in one line.', content_type: 'text' },
          { role: 'user', type: 'question', content: 'What is the capital of France?', content_type: 'text' },
          { role: 'assistant', type: 'answer', content: 'Paris.', content_type: 'text' },
          { role: 'user', type: 'question', content: 'And again?', content_type: 'text' },
        ],
      },
      'bot, stable user id, streamed internally, every turn in order (the system message as a user turn)',
    )

    const row = only(t, await usageRows(gateway))
    t.match(row, {
      request_id: response.headers.get('x-request-id'),
      model: 'coze-bot',
      channel_id: channelId,
      prompt_tokens: 41,
      completion_tokens: 9,
      estimated: false,
      status: 'success',
      error_type: null,
      endpoint: 'chat.completions',
      stream: false,
    })
  },
)

t.test('chat completions, streamed: reasoning_content then content as Coze sends them, usage when asked', async t => {
  const key = pat()
  const coze = await mockCoze(t, undefined, { pats: [key] })
  const { gateway } = await bootCoze(t)
  await cozeChannel(gateway, coze, { keys: [key] })
  const client = sdk(gateway, 'token-default')
  const answer = 'Two plus two is four.'
  const reasoning = 'A sum of small numbers.'
  coze.reply({ text: answer, reasoning, chunkDelayMs: 30, usage: { input: 12, output: 30 } })

  const stream = await client.chat.completions.create({
    model: 'coze-bot',
    messages: [{ role: 'user', content: 'What is 2 + 2?' }],
    stream: true,
    stream_options: { include_usage: true },
  })
  let text = ''
  let thought = ''
  let firstAt: number | undefined
  const usages: OpenAI.CompletionUsage[] = []
  for await (const chunk of stream) {
    if (chunk.usage) usages.push(chunk.usage)
    const delta = chunk.choices[0]?.delta
    const piece = (delta as Reasoning | undefined)?.reasoning_content
    if (typeof piece === 'string' && piece !== '') thought += piece
    if (typeof delta?.content === 'string') text += delta.content
    if ((piece || delta?.content) && firstAt === undefined) firstAt = Date.now()
  }
  const ended = Date.now()
  t.equal(thought, reasoning, 'the reasoning, as reasoning_content deltas')
  t.equal(text, answer, 'the answer')
  t.ok(
    firstAt !== undefined && ended - firstAt >= 150,
    `the first delta came ${ended - (firstAt ?? ended)} ms before the end: streamed, not buffered`,
  )
  t.equal(usages.length, 1, 'one usage chunk, as asked')
  t.match(usages[0], { prompt_tokens: 12, completion_tokens: 30 })

  const rows = await waitForRows(gateway, 1)
  t.match(only(t, rows), {
    prompt_tokens: 12,
    completion_tokens: 30,
    estimated: false,
    status: 'success',
    stream: true,
  })
})

t.test('the Responses API, not streamed and streamed, from the same Coze chat', async t => {
  const key = pat()
  const coze = await mockCoze(t, undefined, { pats: [key] })
  const { gateway } = await bootCoze(t)
  await cozeChannel(gateway, coze, { keys: [key] })
  const client = sdk(gateway, 'token-default')

  coze.reply({ text: 'Bonjour !', reasoning: 'French greeting.', usage: { input: 8, output: 5 } })
  const response = await client.responses.create({
    model: 'coze-bot',
    instructions: 'Speak French.',
    input: 'Say hello',
  })
  t.equal(response.output_text, 'Bonjour !')
  t.match(
    response.output[0],
    { type: 'reasoning', summary: [{ type: 'summary_text', text: 'French greeting.' }] },
    'the reasoning as a summary item',
  )
  t.match(response.usage, { input_tokens: 8, output_tokens: 5 })
  t.same(
    (coze.chats[0]?.body?.additional_messages as unknown[]).map(m => (m as { content: string }).content),
    ['Speak French.', 'Say hello'],
    'instructions and input become the conversation',
  )

  coze.reply({ text: 'Salut tout le monde', reasoning: 'Greet them all.', usage: { input: 6, output: 4 } })
  const events = await client.responses.create({
    model: 'coze-bot',
    input: [{ role: 'user', content: 'Say hi to all' }],
    stream: true,
  })
  let text = ''
  let summary = ''
  let completed: OpenAI.Responses.Response | undefined
  for await (const event of events) {
    if (event.type === 'response.output_text.delta') text += event.delta
    if (event.type === 'response.reasoning_summary_text.delta') summary += event.delta
    if (event.type === 'response.completed') completed = event.response
  }
  t.equal(text, 'Salut tout le monde')
  t.equal(summary, 'Greet them all.', 'reasoning streamed as reasoning summary deltas')
  t.match(completed?.usage, { input_tokens: 6, output_tokens: 4 })

  const rows = await waitForRows(gateway, 2)
  t.match(
    rows.map(r => [r.endpoint, r.prompt_tokens, r.completion_tokens, Boolean(r.estimated)]),
    [
      ['responses', 8, 5, false],
      ['responses', 6, 4, false],
    ],
  )
})

t.test('images: URLs go as object_string items, data URLs are uploaded to Coze first', async t => {
  const key = pat()
  const coze = await mockCoze(t, undefined, { pats: [key] })
  const { gateway } = await bootCoze(t)
  await cozeChannel(gateway, coze, { keys: [key] })
  const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex')
  coze.reply({ text: 'Two pictures.' })

  const completion = await sdk(gateway, 'token-default').chat.completions.create({
    model: 'coze-bot',
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What do these show?' },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } },
          { type: 'image_url', image_url: { url: `data:image/png;base64,${png.toString('base64')}` } },
        ],
      },
    ],
  })
  t.equal(completion.choices[0]?.message.content, 'Two pictures.')
  t.equal(coze.uploads.length, 1, 'the inline image was uploaded once')
  t.same(coze.uploads[0]?.bytes, png, 'byte for byte')
  t.match(coze.uploads[0], { type: 'image/png', name: 'image.png', token: key })
  const message = (coze.chats[0]?.body?.additional_messages as Array<{ content: string; content_type: string }>)[0]
  t.equal(message?.content_type, 'object_string')
  t.same(JSON.parse(message?.content ?? '[]'), [
    { type: 'text', text: 'What do these show?' },
    { type: 'image', file_url: 'https://example.com/cat.png' },
    { type: 'image', file_id: coze.uploads[0]?.id },
  ])

  const refused = await post(
    gateway,
    '/v1/chat/completions',
    {
      model: 'coze-bot',
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://example.com/cat.png' } }] }],
    },
    { authorization: 'Bearer token-default' },
  )
  t.equal(refused.status, 400, "an image Coze cannot fetch is the client's mistake")
  t.match(await refused.json(), { error: { type: 'upstream_error', message: /http\(s\) URL or a base64 data URL/ } })
  t.equal(coze.chats.length, 1, 'and never reaches Coze')
})

t.test(
  'bots: mapped by the upstream model name, or the model name as the bot id; answers and system messages',
  async t => {
    const key = pat()
    const coze = await mockCoze(t, undefined, { pats: [key] })
    const { gateway } = await bootCoze(t)
    const channelId = await cozeChannel(gateway, coze, {
      keys: [key],
      models: [{ model: 'helper', upstream_model: 'support-bot' }, OTHER_BOT],
      bots: { 'support-bot': BOT },
      settings: { system_messages: 'drop' },
    })
    const client = sdk(gateway, 'token-default')

    coze.reply({ text: 'First part.', moreAnswers: ['Second part.'] })
    const two = await client.chat.completions.create({
      model: 'helper',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ],
    })
    t.equal(two.choices[0]?.message.content, 'First part.\n\nSecond part.', 'two answer messages, kept apart')
    t.equal(coze.chats[0]?.body?.bot_id, BOT, 'the alias resolves to the upstream name, which maps to the bot')
    t.same(
      coze.chats[0]?.body?.additional_messages,
      [{ role: 'user', type: 'question', content: 'Hi', content_type: 'text' }],
      'system messages dropped as set',
    )

    coze.reply({ text: 'Whole at once.', completedOnly: true })
    const whole = await client.chat.completions.create({
      model: OTHER_BOT,
      messages: [{ role: 'user', content: 'Hi' }],
    })
    t.equal(whole.choices[0]?.message.content, 'Whole at once.', 'an answer without deltas still counts')
    t.equal(coze.chats[1]?.body?.bot_id, OTHER_BOT, 'a numeric model name is the bot id itself')

    const models = await gateway.inject({
      method: 'POST',
      url: `/api/admin/channels/${channelId}/test`,
      headers: { authorization: 'Bearer root' },
      payload: { model: 'helper' },
    })
    t.match(
      models.json(),
      { ok: true, upstream_model: 'support-bot', results: [{ ok: true }] },
      'the channel test makes a real round trip',
    )
  },
)

t.test('the portal endpoint streams a Coze answer like any other model', async t => {
  const key = pat()
  const coze = await mockCoze(t, undefined, { pats: [key] })
  const { gateway } = await bootCoze(t)
  await cozeChannel(gateway, coze, { keys: [key] })
  coze.reply({ text: 'Hello from the portal' })
  const portal = await post(
    gateway,
    '/api/chat/completions',
    { model: 'coze-bot', stream: true, messages: [{ role: 'user', content: 'Hi' }] },
    { authorization: 'Bearer user-default' },
  )
  t.equal(portal.status, 200)
  const events = await readSse(portal)
  const text = events
    .filter(e => e.data !== '[DONE]')
    .map(
      e =>
        (JSON.parse(e.data) as { choices?: Array<{ delta?: { content?: string } }> }).choices?.[0]?.delta?.content ??
        '',
    )
    .join('')
  t.equal(text, 'Hello from the portal')
  t.equal(events.at(-1)?.data, '[DONE]')
  const rows = await waitForRows(gateway, 1)
  t.match(rows[0], { endpoint: 'portal', status: 'success' })
})
