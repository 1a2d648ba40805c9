import { EventEmitter } from 'node:events'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { RequestContext } from '../http/context.js'

/*
 * A call whose answer goes to a sink the caller gives instead of a Fastify reply, and which only
 * the caller's AbortSignal stops (a widget answer goes on when the browser drops; a WebSocket has
 * no reply). The pipeline is not told: it writes to a stand-in for the reply, so `/v1` pays
 * nothing for this.
 */

/** Where a detached call's answer goes. */
export interface ChatSink {
  /**
   * The answer begins: `text/event-stream; charset=utf-8` (streamed: OpenAI chat chunk events,
   * `data: [DONE]` last) or `application/json` (the whole answer), with the headers a reply
   * would have carried (`x-ratelimit-*`).
   */
  open?(head: { readonly contentType: string; readonly headers: Readonly<Record<string, string>> }): void
  /** A piece of the answer: one or more whole SSE events when streamed, the JSON body when not. */
  write(piece: string): void
  /** The answer ended: complete, ended by an error event, or stopped by the signal. Called once. */
  end(): void
}

/** How a detached call ended, once its sink got everything. */
export interface DetachedOutcome {
  /** `answered`: the sink got the answer (it may end with an error event); `aborted`: the signal stopped it. */
  readonly status: 'answered' | 'aborted'
}

/**
 * Stands in for the reply: the pipeline commits, writes and ends as it does on a socket, and
 * hears `close` when the signal aborts (as it does when a client leaves).
 */
class SinkResponse extends EventEmitter {
  destroyed = false
  writableFinished = false
  opened = false
  readonly #decoder = new TextDecoder()

  constructor(
    private readonly sink: ChatSink,
    private readonly settle: (status: DetachedOutcome['status']) => void,
  ) {
    super()
  }

  writeHead(_status: number, headers: Record<string, unknown>): this {
    this.opened = true
    const plain: Record<string, string> = {}
    for (const [name, value] of Object.entries(headers))
      if (value !== undefined && name !== 'content-length' && name !== 'connection') plain[name] = String(value)
    const contentType = plain['content-type'] ?? 'application/json'
    delete plain['content-type']
    this.sink.open?.({ contentType, headers: plain })
    return this
  }

  write(piece: Uint8Array | string): boolean {
    if (this.destroyed || this.writableFinished) return false
    const text = typeof piece === 'string' ? piece : this.#decoder.decode(piece, { stream: true })
    if (text.length > 0) this.sink.write(text)
    return true
  }

  end(piece?: Uint8Array | string): this {
    if (this.destroyed || this.writableFinished) return this
    if (piece !== undefined) this.write(piece)
    const rest = this.#decoder.decode()
    if (rest.length > 0) this.sink.write(rest)
    this.writableFinished = true
    this.sink.end()
    this.settle('answered')
    this.emit('finish')
    this.emit('close')
    return this
  }

  destroy(): this {
    if (this.destroyed || this.writableFinished) return this
    this.destroyed = true
    if (this.opened) this.sink.end()
    this.settle('aborted')
    this.emit('close')
    return this
  }
}

/**
 * A reply and a request for the pipeline: the reply writes to the sink, the request is the
 * caller's (address, logger, principal) with the call's own start time and request id.
 */
export function detachedExchange(
  request: FastifyRequest,
  sink: ChatSink,
  signal: AbortSignal,
  own: { readonly requestId?: string; readonly startedAt?: bigint },
): { request: FastifyRequest; reply: FastifyReply; outcome: Promise<DetachedOutcome>; release(): void } {
  let settle!: (status: DetachedOutcome['status']) => void
  const outcome = new Promise<DetachedOutcome>(resolve => {
    settle = status => resolve({ status })
  })
  const raw = new SinkResponse(sink, status => settle(status))
  const headers: Record<string, string> = {}
  const reply = {
    raw,
    server: { draining: false },
    hijack: () => reply,
    getHeaders: () => ({ ...headers }),
    header(name: string, value: string) {
      headers[name.toLowerCase()] = value
      return reply
    },
  }
  const parley: RequestContext = { ...request.parley, startedAt: own.startedAt ?? request.parley.startedAt }
  const detached = Object.create(request, {
    parley: { value: parley, enumerable: true },
    id: { value: own.requestId ?? request.id, enumerable: true },
  }) as FastifyRequest
  const abort = () => raw.destroy()
  const release = () => signal.removeEventListener('abort', abort)
  if (signal.aborted) queueMicrotask(abort)
  else {
    signal.addEventListener('abort', abort, { once: true })
    void outcome.then(release)
  }
  return { request: detached, reply: reply as unknown as FastifyReply, outcome, release }
}
