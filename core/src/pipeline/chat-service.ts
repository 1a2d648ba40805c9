import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Principal } from '../auth/principal.js'
import type { ChatPipeline } from './chat-pipeline.js'
import { chatCompletions } from './formats/chat-completions.js'
import { responses } from './formats/responses.js'
import type { CallWatch } from './lifecycle.js'

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
}

export function chatService(pipeline: ChatPipeline): ChatService {
  return {
    run: (request, reply, call) =>
      pipeline.handle(request, reply, {
        format: call.format === 'responses' ? responses : chatCompletions,
        body: call.body,
        principal: call.principal,
        portal: call.portal === true,
        endpoint: call.endpoint,
        ...(call.watch ? { watch: call.watch } : {}),
      }),
  }
}
