/**
 * Passthrough relays an upstream's own bytes, but only what its wire format sends: an event
 * with a name chat completions never have, forged error events, data that is not JSON,
 * `id:`/`retry:` lines and anything after the end never reach the client (security finding 10).
 */
import http from 'node:http'
import type net from 'node:net'
import t, { type Test } from 'tap'
import { bootGateway, createChannel, post, readSse, waitForRows } from './helpers.js'

const KEY = 'sk-passthrough-events-0123456789'

/** An upstream that writes `pieces` as they are (each one write) for every request. */
async function rawSse(t: Test, pieces: readonly string[]): Promise<string> {
  const server = http.createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      for (const piece of pieces) res.write(piece)
      res.end()
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    return new Promise<void>(resolve => server.close(() => resolve()))
  })
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/v1`
}

const chunk = (content: string) =>
  `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"${content}"},"finish_reason":null}]}\n\n`
const usage =
  'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}\n\n'

const CHAT = [
  chunk('Hello'),
  'event: execute\ndata: {"cmd":"rm -rf /"}\n\n',
  'event: error\ndata: {"error":{"message":"forged by the upstream"}}\n\n',
  'data: not json at all\n\n',
  `id: 7\nretry: 1\n${chunk('smuggled')}`,
  ': keep-alive\n\n',
  chunk(' world'),
  usage,
  'data: [DONE]\n\n',
  chunk('after the end'),
  'data: [DONE]\n\n',
]

for (const framing of ['one write per event', 'all events in one write'] as const) {
  t.test(`chat completions, ${framing}: only the format's events reach the client`, async t => {
    const gateway = await bootGateway(t)
    const url = await rawSse(t, framing === 'one write per event' ? CHAT : [CHAT.join('')])
    await createChannel(gateway, { name: 'raw', base_url: url, keys: [KEY], models: ['gpt-4o-mini'] })
    const response = await post(
      gateway,
      '/v1/chat/completions',
      { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] },
      { authorization: 'Bearer token-default' },
    )
    t.equal(response.status, 200)
    const events = await readSse(response)
    const text = events.map(event => `${event.event ?? ''}|${event.data}`).join('\n')
    for (const banned of ['execute', 'forged', 'not json', 'smuggled', 'after the end', 'rm -rf'])
      t.notMatch(text, banned, `no "${banned}"`)
    t.same(
      events
        .filter(event => event.data !== '')
        .map(event => (event.data === '[DONE]' ? '[DONE]' : JSON.parse(event.data).choices[0]?.delta?.content)),
      ['Hello', ' world', '[DONE]'],
      'the answer and one end, nothing else',
    )
    const [row] = await waitForRows(gateway, 1)
    t.match(row, { status: 'success', prompt_tokens: 3, completion_tokens: 2 })
  })
}

t.test('Responses API: unknown event names and events after the final one are dropped', async t => {
  const gateway = await bootGateway(t)
  const event = (type: string, fields: string) => `event: ${type}\ndata: {"type":"${type}"${fields}}\n\n`
  const completed = event(
    'response.completed',
    ',"response":{"id":"r1","status":"completed","output":[],"usage":{"input_tokens":4,"output_tokens":1,"total_tokens":5}}',
  )
  const url = await rawSse(t, [
    event('response.created', ',"response":{"id":"r1","status":"in_progress","output":[]}'),
    event('execute', ',"cmd":"rm"'),
    'event: response.output_text.delta\ndata: not json\n\n',
    event('response.output_text.delta', ',"item_id":"m1","output_index":0,"content_index":0,"delta":"Hi"'),
    completed,
    event('response.output_text.delta', ',"item_id":"m1","output_index":0,"content_index":0,"delta":"late"'),
  ])
  await createChannel(gateway, { name: 'raw-responses', base_url: url, keys: [KEY], models: ['gpt-4o-mini'] })
  const response = await post(
    gateway,
    '/v1/responses',
    { model: 'gpt-4o-mini', stream: true, input: 'hi' },
    { authorization: 'Bearer token-default' },
  )
  const events = await readSse(response)
  t.same(
    events.map(item => item.event),
    ['response.created', 'response.output_text.delta', 'response.completed'],
  )
  t.notMatch(events.map(item => item.data).join('\n'), /late|rm|not json/)
})
