import t from 'tap'
import WebSocket from 'ws'
import { until, type TestGateway } from '@parley/core/testing'
import { ADA, boot, messagesOf, newConversation, ROOT_USER } from './helpers.js'

type Frame = Record<string, unknown> & { type: string }

/** A `ws` client on the gateway that records every frame it gets. */
async function connect(
  gateway: TestGateway,
  options: { headers?: Record<string, string>; protocols?: string[] } = {},
): Promise<{ socket: WebSocket; frames: Frame[]; next: (type: string, from?: number) => Promise<Frame> }> {
  const url = `${gateway.url!.replace(/^http/, 'ws')}/api/chat/ws`
  const socket = new WebSocket(url, options.protocols ?? [], { headers: options.headers ?? ADA })
  const frames: Frame[] = []
  socket.on('message', data => frames.push(JSON.parse(String(data)) as Frame))
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve())
    socket.once('error', reject)
    socket.once('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)))
  })
  const next = async (type: string, from = 0): Promise<Frame> => {
    await until(() => frames.slice(from).some(frame => frame.type === type), `a ${type} frame`)
    return frames.slice(from).find(frame => frame.type === type) as Frame
  }
  return { socket, frames, next }
}

t.test('a send over the WebSocket streams chunks and stores the same messages as SSE', async t => {
  const { gateway, provider } = await boot(t)
  const id = await newConversation(gateway)
  provider.reply(
    {
      events: [
        { type: 'text', delta: 'Hel' },
        { type: 'text', delta: 'lo' },
        { type: 'usage', promptTokens: 3, completionTokens: 2 },
        { type: 'done', finishReason: 'stop' },
      ],
    },
    {
      events: [
        { type: 'text', delta: 'Greeting' },
        { type: 'done', finishReason: 'stop' },
      ],
    },
  )
  const { socket, frames, next } = await connect(gateway)
  t.teardown(() => socket.close())
  t.equal(socket.protocol, '', 'no subprotocol asked, none chosen')

  socket.send(JSON.stringify({ type: 'send', ref: 'q1', conversation_id: id, content: 'Hi' }))
  const started = await next('started')
  t.match(started, { ref: 'q1', conversation_id: id, question_id: Number, message_id: Number })
  const end = await next('end')
  t.match(end, { ref: 'q1', conversation_id: id, message_id: started.message_id, status: 'completed' })
  const text = frames
    .filter(frame => frame.type === 'chunk')
    .map(frame => (frame.data as { choices: Array<{ delta?: { content?: string } }> }).choices[0]?.delta?.content ?? '')
    .join('')
  t.equal(text, 'Hello', 'chunks in the OpenAI chat chunk format')
  t.match(await messagesOf(gateway, id), [
    { role: 'user', content: 'Hi', status: 'completed' },
    {
      id: started.message_id,
      role: 'assistant',
      content: 'Hello',
      status: 'completed',
      usage: { prompt_tokens: 3, completion_tokens: 2 },
    },
  ])
  await until(
    async () =>
      (await gateway.inject({ method: 'GET', url: `/api/conversations/${id}`, headers: ADA })).json().title ===
      'Greeting',
    'titled',
  )

  const before = frames.length
  socket.send(JSON.stringify({ type: 'ping' }))
  await next('pong', before)
  socket.send('not json')
  t.match(await next('error', before), { error: { type: 'invalid_request' } })
  socket.send(JSON.stringify({ type: 'send', conversation_id: id, content: '' }))
  await until(() => frames.slice(before).filter(frame => frame.type === 'error').length === 2, 'two errors')
  t.equal((await messagesOf(gateway, id)).length, 2, 'nothing stored for bad frames')
})

t.test('stop ends the answer stopped; closing the socket does too', async t => {
  const { gateway, provider } = await boot(t)
  const id = await newConversation(gateway)
  const slow = {
    events: [
      ...Array.from({ length: 100 }, () => ({ type: 'text', delta: 'tick ' }) as const),
      { type: 'done', finishReason: 'stop' } as const,
    ],
    delayMs: 30,
  }
  provider.reply(slow, slow)
  const { socket, next } = await connect(gateway)
  socket.send(JSON.stringify({ type: 'send', conversation_id: id, content: 'Count' }))
  await next('chunk')
  socket.send(JSON.stringify({ type: 'stop', conversation_id: id }))
  t.match(await next('end'), { status: 'stopped' })
  t.match((await messagesOf(gateway, id))[1], { status: 'stopped', content: /^tick/ })

  const frames = await connect(gateway)
  frames.socket.send(JSON.stringify({ type: 'regenerate', conversation_id: id }))
  const again = await frames.next('started')
  await frames.next('chunk')
  frames.socket.close()
  await until(async () => {
    const answer = (await messagesOf(gateway, id))[1]
    return answer?.id === again.message_id && answer?.status === 'stopped'
  }, 'the regenerated answer stopped by the close')
  socket.close()
})

t.test('the upgrade is authenticated; another user\u2019s conversation is not found', async t => {
  const { gateway } = await boot(t, { config: { settings: { allow_guest: true } } })
  const id = await newConversation(gateway)
  await t.rejects(connect(gateway, { headers: {} }), /HTTP 401/, 'no credentials: no upgrade')
  await t.rejects(connect(gateway, { headers: { 'x-guest': 'default' } }), /HTTP 403/, 'guests have no server history')

  const viaProtocol = await connect(gateway, { headers: {}, protocols: ['parley.chat.v1', 'bearer.user-default'] })
  t.equal(viaProtocol.socket.protocol, 'parley.chat.v1', 'the token may come as a subprotocol')
  viaProtocol.socket.close()

  const intruder = await connect(gateway, { headers: ROOT_USER })
  intruder.socket.send(JSON.stringify({ type: 'send', ref: 'x', conversation_id: id, content: 'hijack' }))
  t.match(await intruder.next('error'), {
    ref: 'x',
    conversation_id: id,
    error: { type: 'not_found', code: 'PARLEY_ERR_CONVERSATION_NOT_FOUND' },
  })
  intruder.socket.close()
  t.same(await messagesOf(gateway, id), [], 'nothing stored')
})

t.test('a client that stops reading is closed (1013) and its answer ends stopped', async t => {
  const { gateway, provider } = await boot(t)
  const id = await newConversation(gateway)
  const big = 'x'.repeat(32 * 1024)
  provider.reply({
    events: [
      ...Array.from({ length: 600 }, () => ({ type: 'text', delta: big }) as const),
      { type: 'done', finishReason: 'stop' } as const,
    ],
  })
  const { socket, next } = await connect(gateway)
  const closed = new Promise<number>(resolve => socket.once('close', code => resolve(code)))
  socket.send(JSON.stringify({ type: 'send', conversation_id: id, content: 'Flood me' }))
  await next('started')
  // Stop reading: the server's buffer for this client grows past its limit.
  ;(socket as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause()
  await until(async () => (await messagesOf(gateway, id))[1]?.status === 'stopped', 'stopped', 20_000)
  ;(socket as unknown as { _socket: { resume(): void } })._socket.resume()
  t.equal(await closed, 1013, 'closed as too slow')
  t.match((await messagesOf(gateway, id))[1], { status: 'stopped' })
})
