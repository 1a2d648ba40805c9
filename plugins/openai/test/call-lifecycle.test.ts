/**
 * The call lifecycle plugins follow (`ctx.calls`): started, each piece of the answer, ended with
 * the usage row's figures. And the end a shutdown gives a stream that outlives the drain
 * deadline: a terminal error event and a row marked `shutdown` (security finding 4).
 */
import t from 'tap'
import { definePlugin, type CallEnd, type CallOutput, type CallStart } from '@parley/core'
import { bootGateway, bootUpstream, createChannel, post, readSse, sdk, waitForRows } from './helpers.js'

const KEY = 'sk-lifecycle-0123456789abcdef'

function recorder() {
  const started: CallStart[] = []
  const pieces: CallOutput[] = []
  const ended: CallEnd[] = []
  let watching = true
  const plugin = definePlugin({
    id: 'call-recorder',
    version: '1.0.0',
    setup(ctx) {
      ctx.calls.register('recorder', {
        started(call) {
          started.push(call)
          return watching ? { output: piece => void pieces.push(piece), ended: end => void ended.push(end) } : undefined
        },
      })
    },
  })
  return { plugin, started, pieces, ended, stopWatching: () => (watching = false) }
}

t.test('an observer is told of each call: its start, the pieces of the answer, its end', async t => {
  const seen = recorder()
  const gateway = await bootGateway(t, { extra: [seen.plugin] })
  const upstream = await bootUpstream(t, {
    keys: [KEY],
    defaultBehaviour: { text: 'three small words', reasoning: 'thinking first' },
  })
  await createChannel(gateway, { name: 'main', base_url: upstream.url, keys: [KEY], models: ['gpt-4o-mini'] })
  const client = sdk(gateway, 'token-default')

  const stream = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    stream: true,
    messages: [{ role: 'user', content: 'hi' }],
  })
  let text = ''
  for await (const part of stream) text += part.choices[0]?.delta?.content ?? ''
  await waitForRows(gateway, 1)
  t.equal(text, 'three small words')
  t.match(seen.started[0], {
    model: 'gpt-4o-mini',
    format: 'chat',
    endpoint: 'chat.completions',
    stream: true,
    principal: { kind: 'api_token' },
  })
  t.equal(
    seen.pieces
      .filter(piece => piece.type === 'text')
      .map(piece => piece.text)
      .join(''),
    'three small words',
    'the answer, piece by piece, as the client got it',
  )
  t.equal(
    seen.pieces
      .filter(piece => piece.type === 'reasoning')
      .map(piece => piece.text)
      .join(''),
    'thinking first',
  )
  t.match(seen.ended, [{ status: 'success', errorType: null, produced: true, estimated: false }])
  t.ok((seen.ended[0]?.completionTokens ?? 0) > 0)

  const whole = await client.responses.create({ model: 'gpt-4o-mini', input: 'hi' })
  await waitForRows(gateway, 2)
  t.equal(whole.output_text, 'three small words')
  t.match(seen.started[1], { format: 'responses', endpoint: 'responses', stream: false })
  t.match(seen.ended[1], { status: 'success' })

  // A refused call ends too, without output.
  const refused = await post(
    gateway,
    '/v1/chat/completions',
    { model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] },
    { authorization: 'Bearer token-default' },
  )
  t.equal(refused.status, 404)
  await waitForRows(gateway, 3)
  t.match(seen.ended[2], { status: 'error', errorType: 'model_not_found', produced: false })
})

t.test('shutdown: a stream past the drain deadline ends with an error event and a shutdown row', async t => {
  const seen = recorder()
  const gateway = await bootGateway(t, { extra: [seen.plugin], config: { server: { shutdown_timeout_ms: 300 } } })
  const upstream = await bootUpstream(t, {
    keys: [KEY],
    defaultBehaviour: { text: Array.from({ length: 200 }, (_, i) => `word${i}`).join(' '), chunkDelayMs: 50 },
  })
  await createChannel(gateway, { name: 'slow', base_url: upstream.url, keys: [KEY], models: ['gpt-4o-mini'] })
  for (const [path, body] of [
    ['/v1/chat/completions', { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] }],
  ] as const) {
    const response = await post(gateway, path, body, { authorization: 'Bearer token-default' })
    t.equal(response.status, 200)
    const reading = readSse(response)
    await new Promise(resolve => setTimeout(resolve, 200))
    const stopping = gateway.stop()
    const events = await reading
    await stopping
    const last = events.at(-1)
    t.match(
      JSON.parse(last?.data ?? '{}'),
      { error: { type: 'service_unavailable', code: 'PARLEY_ERR_HTTP_SHUTTING_DOWN' } },
      'the stream ends with an error event the SDK raises',
    )
    t.notOk(
      events.some(event => event.data === '[DONE]'),
      'not a normal end',
    )
    t.match(
      seen.ended,
      [{ status: 'error', errorType: 'shutdown', produced: true }],
      'the row says the shutdown cut it',
    )
  }
})
