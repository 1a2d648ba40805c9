import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/** What the mock answers next: a message (streamed if asked), or an error with its HTTP status. */
export type Reply =
  | { text: string; input: number; output: number; stop?: string }
  | { status: number; type: string; message: string }
  | { streamError: string }

export interface MockAnthropic {
  readonly url: string
  readonly requests: { headers: Record<string, unknown>; body: Record<string, unknown> }[]
  reply(...replies: Reply[]): void
  close(): Promise<void>
}

/** Anthropic's `POST /v1/messages` as documented: JSON or SSE, `{type:"error"}` bodies for failures. */
export async function startMockAnthropic(): Promise<MockAnthropic> {
  const queue: Reply[] = []
  const requests: MockAnthropic['requests'] = []
  const server = createServer(async (req, res) => {
    let raw = ''
    for await (const chunk of req) raw += chunk
    const body = JSON.parse(raw) as Record<string, unknown>
    requests.push({ headers: req.headers, body })
    const reply = queue.shift() ?? { status: 500, type: 'api_error', message: 'nothing scripted' }
    if ('status' in reply) {
      res.writeHead(reply.status, { 'content-type': 'application/json' })
      return res.end(JSON.stringify({ type: 'error', error: { type: reply.type, message: reply.message } }))
    }
    const usage = 'text' in reply ? { input_tokens: reply.input, output_tokens: reply.output } : undefined
    const stop = 'text' in reply ? (reply.stop ?? 'end_turn') : null
    if (!body.stream && 'text' in reply) {
      res.writeHead(200, { 'content-type': 'application/json' })
      const content = [{ type: 'text', text: reply.text }]
      return res.end(
        JSON.stringify({ id: 'msg_1', type: 'message', role: 'assistant', content, stop_reason: stop, usage }),
      )
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    const send = (type: string, data: object) =>
      res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`)
    send('message_start', {
      message: { id: 'msg_1', role: 'assistant', content: [], usage: { ...usage, output_tokens: 1 } },
    })
    if ('streamError' in reply) {
      send('error', { error: { type: reply.streamError, message: 'Overloaded' } })
      return res.end()
    }
    send('content_block_start', { index: 0, content_block: { type: 'text', text: '' } })
    send('ping', {})
    for (const word of reply.text.split(/(?<= )/))
      send('content_block_delta', { index: 0, delta: { type: 'text_delta', text: word } })
    send('content_block_stop', { index: 0 })
    send('message_delta', { delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: reply.output } })
    send('message_stop', {})
    res.end()
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    reply: (...replies) => queue.push(...replies),
    close: () => new Promise(resolve => server.close(() => resolve())),
  }
}
