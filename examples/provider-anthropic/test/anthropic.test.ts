import t, { type Test } from 'tap'
import { createChannel, createTestGateway, fixtureAuth, sdk, statusOf, waitForRows } from '@parley/core/testing'
import anthropic from '../src/index.js'
import { startMockAnthropic } from './mock-anthropic.js'

// The official openai SDK as the client, Parley in the middle, a mock of Anthropic's Messages API behind.
async function boot(t: Test, keys = ['sk-ant-first']) {
  const upstream = await startMockAnthropic()
  t.teardown(upstream.close)
  const gateway = await createTestGateway({ plugins: [fixtureAuth, anthropic], listen: true })
  t.teardown(gateway.close)
  await createChannel(gateway, {
    provider: 'anthropic',
    name: 'claude',
    base_url: upstream.url,
    keys,
    models: ['claude'],
  })
  return { upstream, gateway, client: sdk(gateway, 'token-default') }
}

t.test('not streamed: system moves to the top, the answer and its usage come back', async t => {
  const { upstream, gateway, client } = await boot(t)
  upstream.reply({ text: 'Paris.', input: 21, output: 3 })
  const completion = await client.chat.completions.create({
    model: 'claude',
    max_tokens: 50,
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Capital of France?' },
    ],
  })
  t.equal(completion.choices[0]?.message.content, 'Paris.')
  t.match(completion.usage, { prompt_tokens: 21, completion_tokens: 3 })
  t.same(upstream.requests[0]?.body, {
    model: 'claude',
    max_tokens: 50,
    system: 'Be brief.',
    messages: [{ role: 'user', content: 'Capital of France?' }],
  })
  t.match(upstream.requests[0]?.headers, { 'x-api-key': 'sk-ant-first', 'anthropic-version': '2023-06-01' })
  const [row] = await waitForRows(gateway, 1)
  t.match(row, { prompt_tokens: 21, completion_tokens: 3, status: 'success' })
  t.notOk(Boolean(row?.estimated), "Anthropic's counts, not an estimate")
})

t.test('streamed: text deltas as chunks, max_tokens as finish_reason length, usage at the end', async t => {
  const { upstream, client } = await boot(t)
  upstream.reply({ text: 'One two three', input: 5, output: 3, stop: 'max_tokens' })
  const stream = await client.chat.completions.create({
    model: 'claude',
    stream: true,
    stream_options: { include_usage: true },
    messages: [{ role: 'user', content: 'Count' }],
  })
  let text = ''
  let finish: string | null | undefined
  let usage: unknown
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta.content ?? ''
    finish = chunk.choices[0]?.finish_reason ?? finish
    usage = chunk.usage ?? usage
  }
  t.equal(text, 'One two three')
  t.equal(finish, 'length')
  t.match(usage, { prompt_tokens: 5, completion_tokens: 3 })
  t.match(upstream.requests[0]?.body, { stream: true, max_tokens: 1024 }, "the channel's default max_tokens")
})

t.test('errors: a refused key fails over, overload is retried, a bad request reaches the client', async t => {
  const { upstream, client } = await boot(t, ['sk-ant-revoked', 'sk-ant-good'])
  upstream.reply(
    { status: 401, type: 'authentication_error', message: 'invalid x-api-key' },
    { text: 'ok', input: 1, output: 1 },
  )
  const answer = await client.chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'hi' }] })
  t.equal(answer.choices[0]?.message.content, 'ok')
  t.same(
    upstream.requests.map(r => r.headers['x-api-key']),
    ['sk-ant-revoked', 'sk-ant-good'],
  )

  upstream.reply({ streamError: 'overloaded_error' }, { text: 'after', input: 1, output: 1 })
  const stream = await client.chat.completions.create({
    model: 'claude',
    stream: true,
    messages: [{ role: 'user', content: 'hi' }],
  })
  let retried = ''
  for await (const chunk of stream) retried += chunk.choices[0]?.delta.content ?? ''
  t.equal(retried, 'after', 'overload inside the stream, before any text, is retried')

  upstream.reply({ status: 400, type: 'invalid_request_error', message: 'messages: roles must alternate' })
  const refused = client.chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'hi' }] })
  t.equal(await statusOf(refused), 400)
  await t.rejects(refused, { message: /Anthropic: messages: roles must alternate/ })
})
