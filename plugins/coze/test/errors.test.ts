import { APIError } from 'openai'
import t from 'tap'
import { assertNoSecrets, bootCoze, cozeChannel, mockCoze, pat, post, sdk, usageRows, waitForRows } from './helpers.js'

// How Coze's failures reach the client and the pipeline: refusals explained with HTTP 200 and a
// code, rate limits and server trouble that fail over, refused keys, chats that fail midway.

const ASK = { model: 'coze-bot', messages: [{ role: 'user' as const, content: 'Hi' }] }

t.test(
  'a refusal Coze explains with HTTP 200 and a code: upstream_error for the client, the code in the log, no retry',
  async t => {
    const [one, two] = [pat(), pat()]
    const coze = await mockCoze(t, undefined, { pats: [one, two] })
    const { gateway, logs } = await bootCoze(t)
    await cozeChannel(gateway, coze, { keys: [one, two] })
    coze.reply({ refuse: { code: 4015, msg: `The bot has not been published to the API channel (token ${one})` } })

    const error = (await sdk(gateway, 'token-default')
      .chat.completions.create(ASK)
      .catch((e: unknown) => e)) as APIError
    t.ok(error instanceof APIError)
    t.equal(error.status, 400, 'the request itself was refused')
    t.match(error.error, {
      type: 'upstream_error',
      message: /^Coze: The bot has not been published to the API channel \(token \*\*\*\) \(Coze code 4015\)$/,
    })
    t.equal(coze.chats.length, 1, 'another key would get the same answer: not retried')
    t.equal(
      logs.lines.filter(line => line.includes('upstream attempt failed') && line.includes('4015')).length,
      1,
      'the Coze code is in the log',
    )
    t.match(await usageRows(gateway), [
      { status: 'error', error_type: 'upstream_bad_request', prompt_tokens: 0, completion_tokens: 0 },
    ])
    assertNoSecrets(t, logs, [JSON.stringify(error.error)], [one, two])
  },
)

t.test(
  'rate limits (4013) and server trouble (code 5000, HTTP 500) move on to the next key, then the next channel',
  async t => {
    const [a, b] = [pat(), pat()]
    const coze = await mockCoze(t, undefined, { pats: [a, b] })
    const { gateway, logs } = await bootCoze(t)
    await cozeChannel(gateway, coze, { keys: [a, b] })
    coze.reply({ refuse: { code: 4013, msg: 'request frequency exceeds the limit' } }, { text: 'from the other key' })
    const rated = await sdk(gateway, 'token-default').chat.completions.create(ASK)
    t.equal(rated.choices[0]?.message.content, 'from the other key')
    t.same(new Set(coze.chats.map(chat => chat.token)), new Set([a, b]), 'both keys were tried')
    t.ok(
      logs.lines.some(line => line.includes('"failure":"rate"') && line.includes('4013')),
      'logged as a rate limit with its code',
    )

    const [x, y, z] = [pat(), pat(), pat()]
    const many = await mockCoze(t, undefined, { pats: [x, y, z] })
    const other = await bootCoze(t)
    await cozeChannel(other.gateway, many, { name: 'first', keys: [x], priority: 20 })
    await cozeChannel(other.gateway, many, { name: 'second', keys: [y], priority: 10 })
    const third = await cozeChannel(other.gateway, many, { name: 'third', keys: [z], priority: 0 })
    many.reply(
      { refuse: { code: 5000, msg: 'internal error' } },
      { refuse: { code: 5000, msg: 'internal error', status: 500 } },
      { text: 'from the third channel' },
    )
    const failed = await sdk(other.gateway, 'token-default').chat.completions.create(ASK)
    t.equal(failed.choices[0]?.message.content, 'from the third channel')
    t.same(
      many.chats.map(chat => [chat.token, chat.status, chat.code]),
      [
        [x, 200, 5000],
        [y, 500, 5000],
        [z, 200, 0],
      ],
      'each channel in turn',
    )
    t.match(await usageRows(other.gateway), [{ channel_id: third, status: 'success' }])

    many.reply(
      { refuse: { code: 4013, msg: 'slow down' } },
      { refuse: { code: 4013, msg: 'slow down' } },
      { refuse: { code: 4013, msg: 'slow down' } },
    )
    const busy = (await sdk(other.gateway, 'token-default')
      .chat.completions.create(ASK)
      .catch((e: unknown) => e)) as APIError
    t.equal(busy.status, 503, 'every channel rate limited: 503 for the client')
  },
)

t.test('a refused PAT (HTTP 401, or HTTP 200 with code 4100) fails over to the next key, and cools down', async t => {
  for (const authFailureStatus of [401, 200]) {
    await t.test(`refusal with HTTP ${authFailureStatus}`, async t => {
      const [revoked, good] = [pat(), pat()]
      const coze = await mockCoze(t, undefined, { pats: [good], authFailureStatus })
      const { gateway, logs } = await bootCoze(t)
      await cozeChannel(gateway, coze, { keys: [revoked, good] })
      const client = sdk(gateway, 'token-default')
      for (let i = 0; i < 4; i++) t.equal((await client.chat.completions.create(ASK)).choices[0]?.message.content, 'ok')
      t.equal(
        coze.chats.filter(chat => chat.token === revoked).length,
        1,
        'the refused key was tried once, then left to cool',
      )
      t.equal(coze.chats.filter(chat => chat.token === good).length, 4)
      t.ok(
        logs.lines.some(line => line.includes('"failure":"auth"') && line.includes('4100')),
        'logged as refused credentials with the Coze code',
      )
      assertNoSecrets(t, logs, [], [revoked, good])
    })
  }
})

t.test(
  "a chat Coze fails: before any output a 502 with Coze's message, after output an error that ends the stream",
  async t => {
    const key = pat()
    const coze = await mockCoze(t, undefined, { pats: [key] })
    const { gateway } = await bootCoze(t)
    await cozeChannel(gateway, coze, { keys: [key] })
    const client = sdk(gateway, 'token-default')

    coze.reply({ chatFailed: { code: 720702002, msg: 'The model is overloaded' } })
    const before = (await client.chat.completions.create(ASK).catch((e: unknown) => e)) as APIError
    t.equal(before.status, 502)
    t.match(before.error, { type: 'upstream_error', message: 'Coze: The model is overloaded (Coze code 720702002)' })

    coze.reply({
      text: 'The first half',
      chatFailed: { code: 720702002, msg: 'The model is overloaded' },
      chunkDelayMs: 10,
    })
    let text = ''
    const stream = await client.chat.completions.create({ ...ASK, stream: true })
    const midway = await (async () => {
      try {
        for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ''
      } catch (error) {
        return error as APIError
      }
      return undefined
    })()
    t.equal(text, 'The first half', 'what came before the failure reached the client')
    t.match(midway, { message: /The model is overloaded/ }, 'then the SDK raised the error')

    coze.reply({ text: 'Cut', endEarly: true })
    const cut = await post(
      gateway,
      '/v1/chat/completions',
      { ...ASK, stream: true },
      { authorization: 'Bearer token-default' },
    )
    t.match(await cut.text(), /Coze ended the answer before the chat completed/, 'a stream that stops short says so')

    coze.reply({ text: 'Almost', errorEvent: { code: 4000, msg: 'bad request' } })
    const plain = (await client.chat.completions.create(ASK).catch((e: unknown) => e)) as APIError
    t.equal(plain.status, 502, 'not streamed: nothing was sent, so the client gets the failure alone')

    const rows = await waitForRows(gateway, 4)
    t.match(
      rows.map(row => [row.status, row.error_type, Boolean(row.estimated)]),
      [
        ['error', 'upstream_server_error', false],
        ['error', 'upstream_error', true],
        ['error', 'upstream_error', true],
        ['error', 'upstream_server_error', false],
      ],
    )
  },
)

t.test('a model without a bot on the channel, and a conversation with nothing to ask', async t => {
  const key = pat()
  const coze = await mockCoze(t, undefined, { pats: [key] })
  const { gateway, logs } = await bootCoze(t)
  await cozeChannel(gateway, coze, {
    keys: [key],
    models: ['coze-bot', 'unmapped'],
    settings: { system_messages: 'drop' },
  })
  const client = sdk(gateway, 'token-default')

  const unmapped = (await client.chat.completions
    .create({ ...ASK, model: 'unmapped' })
    .catch((e: unknown) => e)) as APIError
  t.equal(unmapped.status, 502)
  t.ok(
    logs.lines.some(line => line.includes('no Coze bot is configured') && line.includes('unmapped')),
    'the operator learns which model lacks a bot',
  )

  const empty = (await client.chat.completions
    .create({ model: 'coze-bot', messages: [{ role: 'system', content: 'Only rules' }] })
    .catch((e: unknown) => e)) as APIError
  t.equal(empty.status, 400)
  t.match(empty.error, { message: 'The conversation has no user message to send to the Coze bot' })
  t.equal(coze.chats.length, 0, 'Coze was never asked')
})

t.test('a client that goes away aborts the Coze stream; the row says so', async t => {
  const key = pat()
  const coze = await mockCoze(t, undefined, { pats: [key] })
  const { gateway } = await bootCoze(t)
  await cozeChannel(gateway, coze, { keys: [key] })
  coze.reply({ text: 'one two three four five six seven eight nine ten', chunkDelayMs: 100 })
  const response = await post(
    gateway,
    '/v1/chat/completions',
    { ...ASK, stream: true },
    { authorization: 'Bearer token-default' },
  )
  const reader = response.body?.getReader()
  await reader?.read()
  await reader?.cancel()
  const rows = await waitForRows(gateway, 1)
  t.match(rows[0], { status: 'aborted', error_type: 'client_closed' })
})
