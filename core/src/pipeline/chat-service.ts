import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Principal } from '../auth/principal.js'
import type { ChatCall, ChatPipeline } from './chat-pipeline.js'
import { chatCompletions } from './formats/chat-completions.js'
import { responses } from './formats/responses.js'
import { detachedExchange, type ChatSink, type DetachedOutcome } from './detached-call.js'
import type { CallWatch } from './lifecycle.js'
import { personalBody, type PersonalUpstream } from './personal-upstream.js'

/** A call a plugin's own route runs through the data plane. */
export interface ChatServiceCall {
  /** The request body in the format's shape (`model`, `messages` or `input`, `stream`, ...). */
  readonly body: Record<string, unknown>
  readonly principal: Principal
  /** `chat` (chat completions, the default) or `responses`. */
  readonly format?: 'chat' | 'responses'
  /** What the usage row's `endpoint` says, e.g. `conversations`. */
  readonly endpoint: string
  /** Portal traffic: the group's chat route applies. */
  readonly portal?: boolean
  /** Told of each piece of the answer and of the end: keep the answer, close a transcript. */
  readonly watch?: CallWatch
  /** A user's own upstream instead of routing (personal-upstream.ts); its parameters fill the body. */
  readonly upstream?: PersonalUpstream
}

/** A call whose answer goes to a sink, not to a reply, and which only its signal stops. */
export interface DetachedChatCall extends ChatServiceCall {
  readonly sink: ChatSink
  /** Stops the call (the row says `aborted`); the request's connection closing does not. */
  readonly signal: AbortSignal
  /** The usage row's request id, when one request carries several calls (a WebSocket's messages). */
  readonly requestId?: string
  /** `process.hrtime.bigint()` when the call arrived, when later than the request (a WebSocket message). */
  readonly startedAt?: bigint
}

/**
 * The data plane for plugins (`TOKENS.chat`): a plugin route answers with a call that goes
 * through the same limits, routing, failover, timeouts and usage rows as `/v1`, written to the
 * route's reply in the OpenAI format (streamed when `body.stream` is true).
 *
 * @example
 * const chat = ctx.container.resolve<ChatService>(TOKENS.chat)
 * ctx.http.post('/api/notes/:id/ask', async (request, reply) =>
 *   chat.run(request, reply, { body: { model, messages, stream: true }, principal, endpoint: 'notes', watch: { ended: end => save(end) } }))
 */
export interface ChatService {
  run(request: FastifyRequest, reply: FastifyReply, call: ChatServiceCall): Promise<unknown>
  /**
   * The same call, detached from the HTTP connection: the answer goes to `call.sink` and only
   * `call.signal` stops it. Resolves once the sink got the whole answer (or the signal stopped
   * it); rejects with the refusal (a `ParleyError`: limits, routing, every upstream failed)
   * when no answer began, and the sink was never opened.
   *
   * @example
   * const stop = new AbortController()
   * const outcome = await chat.detached(request, {
   *   body: { model, messages, stream: true }, principal, endpoint: 'widget', signal: stop.signal,
   *   sink: { write: events => buffer.push(events), end: () => buffer.close() },
   * })
   */
  detached(request: FastifyRequest, call: DetachedChatCall): Promise<DetachedOutcome>
}

export function chatService(pipeline: ChatPipeline): ChatService {
  return {
    run: (request, reply, call) => pipeline.handle(request, reply, chatCallOf(call)),
    detached: async (request, call) => {
      if (call.signal.aborted) return { status: 'aborted' }
      const exchange = detachedExchange(request, call.sink, call.signal, call)
      try {
        await pipeline.handle(exchange.request, exchange.reply, chatCallOf(call))
      } catch (error) {
        // Refused before any answer: the caller's signal no longer needs our listener.
        exchange.release()
        throw error
      }
      return exchange.outcome
    },
  }
}

function chatCallOf(call: ChatServiceCall): ChatCall {
  return {
    format: call.format === 'responses' ? responses : chatCompletions,
    body: call.upstream ? personalBody(call.body, call.format ?? 'chat', call.upstream) : call.body,
    principal: call.principal,
    portal: call.portal === true,
    endpoint: call.endpoint,
    ...(call.watch ? { watch: call.watch } : {}),
    ...(call.upstream ? { upstream: call.upstream } : {}),
  }
}
