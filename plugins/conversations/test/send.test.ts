import t from 'tap'
import { post, readSse, until, usageRows } from '@parley/core/testing'
import { ADA, boot, json, messagesOf, newConversation } from './helpers.js'

const answer = [
  { type: 'text', delta: 'Hello' },
  { type: 'text', delta: ' there' },
  { type: 'usage', promptTokens: 11, completionTokens: 4 },
  { type: 'done', finishReason: 'stop' },
] as const

function chunksText(events: Array<{ data: string }>): string {
  return events
    .filter(event => event.data !== '[DONE]')
    .map(event => JSON.parse(event.data) as { choices: Array<{ delta?: { content?: string } }> })
    .map(chunk => chunk.choices[0]?.delta?.content ?? '')
    .join('')
}

t.test('a question streams as OpenAI chunks; both messages are stored; the title job names it', async t => {
  const { gateway, provider } = await boot(t)
  const id = await newConversation(gateway)
  provider.reply(
    { events: answer },
    {
      events: [
        { type: 'text', delta: '"Greeting Exchange."' },
        { type: 'done', finishReason: 'stop' },
      ],
    },
  )

  const response = await post(gateway, `/api/conversations/${id}/messages`, { content: 'Say hello' }, ADA)
  t.equal(response.status, 200)
  t.match(response.headers.get('content-type'), /text\/event-stream/)
  const answerId = Number(response.headers.get('x-parley-message-id'))
  t.ok(answerId > 0, 'the answer id is in a header')
  const events = await readSse(response)
  t.equal(events.at(-1)?.data, '[DONE]')
  t.equal(chunksText(events), 'Hello there')

  await until(async () => (await messagesOf(gateway, id))[1]?.status === 'completed', 'answer completed')
  t.match(await messagesOf(gateway, id), [
    { role: 'user', content: 'Say hello', status: 'completed', usage: null },
    {
      id: answerId,
      role: 'assistant',
      content: 'Hello there',
      status: 'completed',
      usage: { prompt_tokens: 11, completion_tokens: 4 },
    },
  ])
  t.same(provider.calls[0]?.request.messages, [{ role: 'user', content: 'Say hello' }], 'the question went upstream')

  await until(
    async () => (await json(gateway, 'GET', `/api/conversations/${id}`)).body.title_source === 'generated',
    'titled',
  )
  t.match((await json(gateway, 'GET', `/api/conversations/${id}`)).body, {
    title: 'Greeting Exchange',
    title_source: 'generated',
  })
  const titleCall = provider.calls[1]
  t.equal(titleCall?.request.model, 'bot', "the title model defaults to the conversation's")
  t.match(JSON.stringify(titleCall?.request.messages), /Say hello[\s\S]*Hello there/)

  const rows = await usageRows(gateway)
  t.match(rows, [
    { endpoint: 'conversations', user_id: '2', status: 'success' },
    { endpoint: 'conversations.title', status: 'success' },
  ])
  t.notOk(JSON.stringify(rows).includes('Say hello'), 'usage rows stay content-free')
})

t.test('stream: false answers JSON; the history goes upstream with the next question', async t => {
  const { gateway, provider } = await boot(t)
  await gateway.settings.set('conversations.title_model', 'bot')
  const id = await newConversation(gateway)
  provider.reply(
    { events: answer },
    {
      events: [
        { type: 'text', delta: 'T' },
        { type: 'done', finishReason: 'stop' },
      ],
    },
  )
  const first = await json<{ choices: Array<{ message: { content: string } }> }>(
    gateway,
    'POST',
    `/api/conversations/${id}/messages`,
    { content: 'One', stream: false },
  )
  t.equal(first.status, 200)
  t.equal(first.body.choices[0]?.message.content, 'Hello there')
  await until(() => provider.calls.length === 2, 'title asked')
  provider.reply({
    events: [
      { type: 'text', delta: 'Two!' },
      { type: 'done', finishReason: 'stop' },
    ],
  })
  const parts = [{ type: 'text', text: 'Two' }]
  await json(gateway, 'POST', `/api/conversations/${id}/messages`, { content: parts, stream: false })
  t.same(provider.calls[2]?.request.messages, [
    { role: 'user', content: 'One' },
    { role: 'assistant', content: 'Hello there' },
    { role: 'user', content: parts },
  ])
  await until(
    async () =>
      (await messagesOf(gateway, id)).length === 4 && (await messagesOf(gateway, id))[3]?.status === 'completed',
    'stored',
  )
  t.equal(provider.calls.length, 3, 'the title job runs after the first exchange only')
})

t.test('regenerate replaces the last answer; edit replaces the last question', async t => {
  const { gateway, provider } = await boot(t)
  const id = await newConversation(gateway)
  provider.reply(
    { events: answer },
    {
      events: [
        { type: 'text', delta: 'Title' },
        { type: 'done', finishReason: 'stop' },
      ],
    },
  )
  await json(gateway, 'POST', `/api/conversations/${id}/messages`, { content: 'Q1', stream: false })
  await until(() => provider.calls.length === 2, 'title asked')

  provider.reply({
    events: [
      { type: 'text', delta: 'Again' },
      { type: 'done', finishReason: 'stop' },
    ],
  })
  const again = await json(gateway, 'POST', `/api/conversations/${id}/regenerate`, { stream: false })
  t.equal(again.status, 200)
  t.same(provider.calls[2]?.request.messages, [{ role: 'user', content: 'Q1' }], 'the old answer is not sent')
  await until(async () => (await messagesOf(gateway, id))[1]?.content === 'Again', 'regenerated')
  const [question] = await messagesOf(gateway, id)
  t.equal((await messagesOf(gateway, id)).length, 2)

  provider.reply({
    events: [
      { type: 'text', delta: 'Edited' },
      { type: 'done', finishReason: 'stop' },
    ],
  })
  const edited = await json(gateway, 'POST', `/api/conversations/${id}/messages/${question!.id}/edit`, {
    content: 'Q1 edited',
    stream: false,
  })
  t.equal(edited.status, 200)
  t.same(provider.calls[3]?.request.messages, [{ role: 'user', content: 'Q1 edited' }])
  await until(async () => (await messagesOf(gateway, id))[1]?.content === 'Edited', 'edited')
  t.match(await messagesOf(gateway, id), [
    { role: 'user', content: 'Q1 edited' },
    { role: 'assistant', content: 'Edited' },
  ])

  provider.reply({ events: answer })
  await json(gateway, 'POST', `/api/conversations/${id}/messages`, { content: 'Q2', stream: false })
  const before = await messagesOf(gateway, id)
  const old = await json(gateway, 'POST', `/api/conversations/${id}/messages/${before[0]!.id}/edit`, { content: 'x' })
  t.match(old, { status: 409, body: { error: { code: 'PARLEY_ERR_CONVERSATION_NOT_LAST_QUESTION' } } })
  const foreign = await json(gateway, 'POST', `/api/conversations/${id}/messages/999999/edit`, { content: 'x' })
  t.match(foreign, { status: 404, body: { error: { code: 'PARLEY_ERR_CONVERSATION_MESSAGE_NOT_FOUND' } } })
  t.same(await messagesOf(gateway, id), before, 'refused edits change nothing')
  const empty = await newConversation(gateway)
  t.match(await json(gateway, 'POST', `/api/conversations/${empty}/regenerate`, {}), {
    status: 409,
    body: { error: { code: 'PARLEY_ERR_CONVERSATION_NOTHING_TO_REPEAT' } },
  })
})

t.test('a client that leaves ends the answer stopped; an upstream failure ends it failed', async t => {
  const { gateway, provider } = await boot(t)
  const id = await newConversation(gateway)
  provider.reply({
    events: [
      ...Array.from({ length: 50 }, () => ({ type: 'text', delta: 'tick ' }) as const),
      { type: 'done', finishReason: 'stop' },
    ],
    delayMs: 50,
  })
  const leave = new AbortController()
  const response = await fetch(`${gateway.url}/api/conversations/${id}/messages`, {
    method: 'POST',
    headers: { ...ADA, 'content-type': 'application/json' },
    body: JSON.stringify({ content: 'Count' }),
    signal: leave.signal,
  })
  const reader = response.body!.getReader()
  await reader.read()
  const busy = await json(gateway, 'POST', `/api/conversations/${id}/messages`, { content: 'meanwhile' })
  t.match(busy, { status: 409, body: { error: { code: 'PARLEY_ERR_CONVERSATION_BUSY' } } }, 'one answer at a time')
  leave.abort()
  await until(async () => (await messagesOf(gateway, id))[1]?.status === 'stopped', 'stopped')
  const [, stopped] = await messagesOf(gateway, id)
  t.match(stopped, { role: 'assistant', status: 'stopped', error_type: String })
  t.match(stopped?.content, /^(tick )*$/, 'what arrived before the stop is kept')
  t.equal((await messagesOf(gateway, id)).length, 2, 'the refused question was not stored')

  provider.reply({
    events: [
      { type: 'text', delta: 'part' },
      { type: 'done', finishReason: 'stop' },
    ],
    throwAfter: 1,
  })
  const failed = await post(gateway, `/api/conversations/${id}/messages`, { content: 'Break' }, ADA)
  await readSse(failed)
  await until(async () => (await messagesOf(gateway, id))[3]?.status === 'failed', 'failed')
  t.match((await messagesOf(gateway, id))[3], { content: 'part', status: 'failed', error_type: String })
})

t.test('a refused call ends the answer failed; bad input stores nothing', async t => {
  const { gateway } = await boot(t)
  const id = await newConversation(gateway)
  const other = await json<{ id: number }>(gateway, 'POST', '/api/conversations', { model: 'no-such-model' })
  const refused = await json(gateway, 'POST', `/api/conversations/${other.body.id}/messages`, { content: 'hi' })
  t.equal(refused.status, 404, 'an unknown model is refused by the data plane')
  t.match(await messagesOf(gateway, other.body.id), [
    { role: 'user', status: 'completed' },
    { role: 'assistant', status: 'failed', error_type: String },
  ])
  for (const content of [
    '',
    [],
    [{ type: 'audio', data: 'x' }],
    [{ type: 'image_url', image_url: { url: 'file:///etc/passwd' } }],
    5,
  ])
    t.equal(
      (await json(gateway, 'POST', `/api/conversations/${id}/messages`, { content })).status,
      400,
      JSON.stringify(content),
    )
  t.equal((await json(gateway, 'POST', `/api/conversations/${id}/messages`, { content: 'x', extra: 1 })).status, 400)
  t.same(await messagesOf(gateway, id), [], 'nothing stored')
  t.match(await json(gateway, 'POST', '/api/conversations', { model: 'bot', model_config_id: 3 }), {
    status: 400,
    body: { error: { code: 'PARLEY_ERR_CONVERSATION_MODEL_REQUIRED' } },
  })
  t.match(await json(gateway, 'POST', '/api/conversations', { model_config_id: 3 }), {
    status: 400,
    body: { error: { code: 'PARLEY_ERR_CONVERSATION_MODEL_CONFIGS_OFF', message: /model-configs plugin/ } },
  })
})
