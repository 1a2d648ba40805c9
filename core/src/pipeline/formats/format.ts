import type { PromptMessage } from '../../usage/tokens.js'
import type { ChatRequest, PassthroughPath } from '../provider.js'
import type { CallOutput } from '../lifecycle.js'
import type { SseEvent } from '../sse.js'
import type { StreamTap, TokenUsage } from '../stream-tap.js'
import type { AnswerMeta, StreamWriter, Transcript } from '../transcript.js'

export type Json = Record<string, unknown>

/**
 * One OpenAI wire format the gateway serves (`/chat/completions` or `/responses`): everything
 * the data plane does differently for it, so the pipeline itself never asks which one a call
 * speaks. Passthrough uses the first group (the upstream speaks the format itself), translation
 * the second (a provider's events are written in the format), and both the last.
 */
export interface WireFormat {
  readonly name: 'chat' | 'responses'
  /** The upstream path a passthrough provider serves for it. */
  readonly path: PassthroughPath

  // passthrough
  /** The body relayed upstream: the routed model, and (streamed chat) usage asked for. */
  upstreamBody(body: Json, upstreamModel: string, stream: boolean): Json
  /** Watches one relayed stream: usage, errors, the end; drops what the format does not send. */
  tap(body: Json): StreamTap
  /** Usage in a whole answer's `usage` object. */
  usage(value: unknown): TokenUsage | undefined
  /** The output text of a whole answer, for an estimate. */
  answerText(answer: Json | undefined): string
  /** The pieces of the answer in one relayed event, for a call's watch (decoded only when one asks). */
  outputOf(event: SseEvent): CallOutput[]

  // translating
  /** The request in the normalized form a translating provider takes. */
  chatRequest(body: Json, upstreamModel: string): ChatRequest
  /** A whole answer, from everything the provider's events said. */
  answerBody(meta: AnswerMeta, body: Json, transcript: Transcript, usage: TokenUsage): Json
  /** Writes a streamed answer event by event. */
  streamWriter(meta: AnswerMeta, body: Json): StreamWriter

  // both
  /** The prompt as chat messages, for an estimate when the upstream reports no usage. */
  promptMessages(body: Json): PromptMessage[]
  /** An error event that ends a stream already under way, as the official SDK raises it. */
  failFrame(type: string, message: string, code?: string): string
}
