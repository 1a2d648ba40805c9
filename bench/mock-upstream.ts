/**
 * The benchmark's upstream: a child process answering `POST /v1/chat/completions` the way
 * OpenAI does, with no waiting, so every target measures its own cost and not a model's.
 * Honest to the wire format: a `chat.completion` object with usage, or `chat.completion.chunk`
 * frames (role, one per word, finish), the usage chunk when `stream_options.include_usage` is
 * set, then `data: [DONE]`; each frame is written separately, as a model streams them.
 * Minimal on purpose: the JSON around each request's id and model is serialised once at start.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { announce, onStop } from './child.js'

const ANSWER = 'Sure! Here is a short answer, streamed one word at a time, the way a chat model sends it back.'
const PIECES = ANSWER.match(/\s*\S+/g) ?? [ANSWER]
const USAGE = { prompt_tokens: 42, completion_tokens: PIECES.length, total_tokens: 42 + PIECES.length }
const FULL_USAGE = {
  ...USAGE,
  prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
  completion_tokens_details: {
    reasoning_tokens: 0,
    audio_tokens: 0,
    accepted_prediction_tokens: 0,
    rejected_prediction_tokens: 0,
  },
}
const TAIL = '"service_tier":"default","system_fingerprint":"fp_parley_bench",'
const USAGE_JSON = JSON.stringify(FULL_USAGE)
const MESSAGE = JSON.stringify({ role: 'assistant', content: ANSWER, refusal: null, annotations: [] })

/** What follows `{"id":...,"model":...,` in each chunk; `usage: null` on every chunk when usage is asked for. */
function chunkBodies(includeUsage: boolean): string[] {
  const usageNull = includeUsage ? ',"usage":null' : ''
  const choice = (delta: object, finish: string | null) =>
    `"choices":[${JSON.stringify({ index: 0, delta, logprobs: null, finish_reason: finish })}]${usageNull}}`
  const bodies = [
    choice({ role: 'assistant', content: '', refusal: null }, null),
    ...PIECES.map(piece => choice({ content: piece }, null)),
    choice({}, 'stop'),
  ]
  if (includeUsage) bodies.push(`"choices":[],"usage":${USAGE_JSON}}`)
  return bodies
}
const CHUNKS = { plain: chunkBodies(false), withUsage: chunkBodies(true) }

let sequence = 0
/** The opening of an object, up to its `choices`: a fresh id, the time and the model asked for. */
function head(object: 'chat.completion' | 'chat.completion.chunk', model: string): string {
  sequence++
  const id = `chatcmpl-bench${Date.now().toString(36)}${sequence.toString(36)}`
  return `{"id":"${id}","object":"${object}","created":${Math.floor(Date.now() / 1000)},"model":${JSON.stringify(model)},${TAIL}`
}

function fail(res: ServerResponse, status: number, message: string, type: string): void {
  const body = JSON.stringify({ error: { message, type, param: null, code: null } })
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body)
}

function answer(req: IncomingMessage, res: ServerResponse, raw: string): void {
  if (req.method !== 'POST' || req.url !== '/v1/chat/completions')
    return fail(res, 404, `Unknown request URL: ${req.method} ${req.url}`, 'invalid_request_error')
  if (!req.headers.authorization?.startsWith('Bearer '))
    return fail(res, 401, 'You did not provide an API key.', 'invalid_request_error')
  let body: {
    model?: unknown
    messages?: unknown
    stream?: unknown
    stream_options?: { include_usage?: unknown } | null
  }
  try {
    body = JSON.parse(raw) as typeof body
  } catch {
    return fail(res, 400, 'We could not parse the JSON body of your request.', 'invalid_request_error')
  }
  if (typeof body.model !== 'string' || !Array.isArray(body.messages))
    return fail(res, 400, "Missing required parameter: 'model' or 'messages'.", 'invalid_request_error')
  if (body.stream !== true) {
    const json = `${head('chat.completion', body.model)}"choices":[{"index":0,"message":${MESSAGE},"logprobs":null,"finish_reason":"stop"}],"usage":${USAGE_JSON}}`
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) }).end(json)
    return
  }
  const chunkHead = `data: ${head('chat.completion.chunk', body.model)}`
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' })
  for (const chunk of body.stream_options?.include_usage === true ? CHUNKS.withUsage : CHUNKS.plain)
    res.write(`${chunkHead}${chunk}\n\n`)
  res.end('data: [DONE]\n\n')
}

const server = createServer((req, res) => {
  const parts: Buffer[] = []
  req.on('data', (part: Buffer) => parts.push(part))
  req.on('end', () => answer(req, res, Buffer.concat(parts).toString('utf8')))
})
// Longer than any client's idle pool timeout, so the server never closes a connection under load.
server.keepAliveTimeout = 65_000
server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  announce(`http://127.0.0.1:${address.port}`)
})
onStop(() => new Promise<void>(resolve => server.close(() => resolve())))
