import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  inspect,
  parseObject,
  readBody,
  resolveAnswer,
  sendError,
  sendJson,
  validate,
  write,
} from './mock-upstream-http.js'
import {
  chatCompletion,
  chatCompletionFrames,
  mockId,
  modelObject,
  response,
  responseFrames,
} from './mock-upstream-wire.js'

/** A normal answer. Streams when the request asked for `stream: true`. */
export interface MockAnswer {
  /** The reply; `'ok'` by default. Streamed one word per chunk. */
  readonly text?: string
  /** Chain of thought, sent as `reasoning_content` (chat) or a reasoning summary (Responses). */
  readonly reasoning?: string
  /** Token counts to report; `false` reports none so the gateway must estimate. By default counted from the words. */
  readonly usage?: { readonly prompt: number; readonly completion: number; readonly reasoning?: number } | false
  /** Wait before the status line and headers. */
  readonly slowHeadersMs?: number
  /** Streaming: headers go out at once, the first event after this wait. Non-streaming: added to the header wait. */
  readonly delayFirstByteMs?: number
  /** Streaming: wait between SSE frames. */
  readonly chunkDelayMs?: number
  /** Destroy the socket after this many SSE frames (non-streaming: after half the JSON body). */
  readonly dropAfterChunks?: number
}

/** An OpenAI error response; message, type and code default to the real API's wording for the status. */
export interface MockFailure {
  readonly status: number
  readonly message?: string
  readonly type?: string
  readonly param?: string | null
  readonly code?: string | null
  /** Seconds, sent as the `retry-after` header. */
  readonly retryAfter?: number
  readonly slowHeadersMs?: number
}

/** Close the connection without answering. */
export interface MockHangup {
  readonly hangup: true
  readonly afterMs?: number
}

export type MockBehaviour = MockAnswer | MockFailure | MockHangup

export interface MockUpstreamOptions {
  /** Accepted Bearer keys; any non-empty key when omitted. A rejected request consumes no behaviour. */
  readonly keys?: readonly string[]
  /** Ids served by `GET /v1/models`. */
  readonly models?: readonly string[]
  /** What a request gets when the script is empty; `{ text: 'ok' }` by default. */
  readonly defaultBehaviour?: MockBehaviour
}

/** One request as the mock received it; `status`, `outcome` and `endedAt` change as the exchange goes on. */
export interface MockRequest {
  readonly method: string
  /** Path without the query, `/v1` included. */
  readonly path: string
  readonly headers: IncomingHttpHeaders
  /** The Bearer token sent, if any. */
  readonly apiKey: string | undefined
  /** The parsed JSON body (undefined for GET or an unparsable body). */
  body: Readonly<Record<string, unknown>> | undefined
  /** URLs (or data URLs) of the image content parts in the request. */
  images: readonly string[]
  stream: boolean
  status: number | undefined
  /** `aborted`: the client went away before the answer ended; `dropped`: the mock cut it on purpose. */
  outcome: 'pending' | 'completed' | 'aborted' | 'dropped'
  readonly receivedAt: number
  endedAt: number | undefined
}

export interface MockUpstream {
  /** Base URL ending in `/v1`, as an OpenAI client's `baseURL`. */
  readonly url: string
  readonly requests: readonly MockRequest[]
  /** Requests whose client disconnected before the answer ended. */
  readonly abortedRequests: readonly MockRequest[]
  /** TCP connections accepted so far (keep-alive reuse keeps this low). */
  readonly connections: number
  /** Behaviours still queued. */
  readonly pending: number
  /** Queue one behaviour for the next completion or response request. */
  reply(behaviour: MockBehaviour): void
  /** Queue behaviours, one per coming completion or response request, in order. */
  script(behaviours: readonly MockBehaviour[]): void
  setModels(ids: readonly string[]): void
  /** Resolves with the next aborted request not yet returned; rejects after `timeoutMs`. */
  waitForAbort(timeoutMs?: number): Promise<MockRequest>
  close(): Promise<void>
}

const DEFAULT_MODELS = ['gpt-4o-mini', 'gpt-4o', 'deepseek-reasoner']
const DEFAULT_BEHAVIOUR: MockBehaviour = { text: 'ok' }
const GENERATION_PATHS = new Set(['/v1/chat/completions', '/v1/responses'])

/**
 * Starts an OpenAI-compatible upstream on 127.0.0.1 for the gateway's tests: chat completions
 * and the Responses API (streaming or not), `GET /v1/models`, OpenAI errors, and the network
 * faults a gateway must survive (slow headers, slow chunks, drops, hang-ups), all scripted.
 *
 * @example
 * const upstream = await startMockUpstream({ keys: ['sk-good'] })
 * t.teardown(upstream.close)
 * upstream.script([{ status: 429, retryAfter: 1 }, { text: 'hello', reasoning: 'hmm', usage: { prompt: 5, completion: 2 } }])
 * // ... point a channel at upstream.url and call the gateway ...
 * t.equal(upstream.requests[1]?.apiKey, 'sk-good')
 */
export async function startMockUpstream(options: MockUpstreamOptions = {}): Promise<MockUpstream> {
  const requests: MockRequest[] = []
  const queue: MockBehaviour[] = []
  let models = [...(options.models ?? DEFAULT_MODELS)]
  let connections = 0
  let closing = false
  let abortsReturned = 0
  const abortWaiters = new Set<() => void>()
  // In the order the clients went away, which need not be the order the requests came in.
  const aborted: MockRequest[] = []

  const server = http.createServer((req, res) => {
    const record: MockRequest = {
      method: req.method ?? 'GET',
      path: new URL(req.url ?? '/', 'http://mock').pathname,
      headers: req.headers,
      apiKey: /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1],
      body: undefined,
      images: [],
      stream: false,
      status: undefined,
      outcome: 'pending',
      receivedAt: Date.now(),
      endedAt: undefined,
    }
    requests.push(record)
    const gone = new AbortController()
    res.on('close', () => {
      record.endedAt = Date.now()
      if (record.outcome === 'pending') {
        record.outcome = res.writableFinished ? 'completed' : closing ? 'dropped' : 'aborted'
        if (record.outcome === 'aborted') {
          aborted.push(record)
          for (const wake of abortWaiters) wake()
        }
      }
      gone.abort()
    })
    handle(req, res, record, gone.signal).catch(() => {
      if (!res.headersSent && !res.destroyed) sendError(res, record, 500)
      else res.destroy()
    })
  })
  server.on('connection', () => connections++)

  const handle = async (
    req: IncomingMessage,
    res: ServerResponse,
    record: MockRequest,
    signal: AbortSignal,
  ): Promise<void> => {
    const raw = await readBody(req)
    record.body = parseObject(raw)
    res.setHeader('x-request-id', mockId('req_'))
    if (options.keys ? !record.apiKey || !options.keys.includes(record.apiKey) : !record.apiKey) {
      const message = record.apiKey
        ? undefined
        : "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth."
      return sendError(res, record, 401, { message, code: record.apiKey ? 'invalid_api_key' : null })
    }
    if (record.method === 'GET' && record.path === '/v1/models') {
      return sendJson(res, record, 200, { object: 'list', data: models.map(id => modelObject(id)) })
    }
    const modelId = /^\/v1\/models\/(.+)$/.exec(record.path)?.[1]
    if (record.method === 'GET' && modelId !== undefined) {
      const id = decodeURIComponent(modelId)
      if (models.includes(id)) return sendJson(res, record, 200, modelObject(id))
      return sendError(res, record, 404, { message: `The model '${id}' does not exist`, param: 'model' })
    }
    if (record.method !== 'POST' || !GENERATION_PATHS.has(record.path)) {
      return sendError(res, record, 404, { message: `Invalid URL (${record.method} ${record.path})`, code: null })
    }
    const body = record.body
    if (!body) return sendError(res, record, 400, { message: 'We could not parse the JSON body of your request.' })
    record.stream = body.stream === true
    const invalid = validate(record.path, body)
    if (invalid) return sendError(res, record, 400, invalid)
    const found = { images: [] as string[], words: 0 }
    inspect(record.path === '/v1/responses' ? [body.instructions, body.input] : body.messages, found, 'content')
    record.images = found.images

    const behaviour = queue.shift() ?? options.defaultBehaviour ?? DEFAULT_BEHAVIOUR
    if ('hangup' in behaviour) {
      await sleep(behaviour.afterMs ?? 0, undefined, { signal })
      record.outcome = 'dropped'
      return void req.socket.destroy()
    }
    await sleep(behaviour.slowHeadersMs ?? 0, undefined, { signal })
    if ('status' in behaviour) {
      if (behaviour.retryAfter !== undefined) res.setHeader('retry-after', String(behaviour.retryAfter))
      return sendError(res, record, behaviour.status, behaviour)
    }
    const answer = resolveAnswer(behaviour, String(body.model), found.words)
    if (!record.stream) {
      await sleep(behaviour.delayFirstByteMs ?? 0, undefined, { signal })
      const payload = record.path === '/v1/responses' ? response(answer, body) : chatCompletion(answer)
      if (behaviour.dropAfterChunks === undefined) return sendJson(res, record, 200, payload)
      const text = JSON.stringify(payload)
      res.writeHead((record.status = 200), {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      })
      await write(res, text.slice(0, text.length >> 1))
      record.outcome = 'dropped'
      return void req.socket.destroy()
    }
    const includeUsage = (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true
    const frames =
      record.path === '/v1/responses' ? responseFrames(answer, body) : chatCompletionFrames(answer, includeUsage)
    res.writeHead((record.status = 200), {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    })
    res.flushHeaders()
    await sleep(behaviour.delayFirstByteMs ?? 0, undefined, { signal })
    for (const [index, frame] of frames.entries()) {
      if (index === behaviour.dropAfterChunks) {
        record.outcome = 'dropped'
        return void req.socket.destroy()
      }
      if (index > 0 && behaviour.chunkDelayMs) await sleep(behaviour.chunkDelayMs, undefined, { signal })
      if (!(await write(res, frame))) return
    }
    res.end()
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}/v1`,
    get requests() {
      return requests
    },
    get abortedRequests() {
      return [...aborted]
    },
    get connections() {
      return connections
    },
    get pending() {
      return queue.length
    },
    reply: behaviour => void queue.push(behaviour),
    script: behaviours => void queue.push(...behaviours),
    setModels: ids => void (models = [...ids]),
    waitForAbort: (timeoutMs = 2000) =>
      new Promise<MockRequest>((resolve, reject) => {
        const check = (): boolean => {
          const next = aborted[abortsReturned]
          if (!next) return false
          abortsReturned++
          abortWaiters.delete(check)
          clearTimeout(timer)
          resolve(next)
          return true
        }
        const timer = setTimeout(() => {
          abortWaiters.delete(check)
          reject(new Error(`no aborted request within ${timeoutMs} ms`))
        }, timeoutMs)
        if (!check()) abortWaiters.add(check)
      }),
    close: async () => {
      closing = true
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    },
  }
}
