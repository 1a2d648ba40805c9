import { SseSplitter, type ChatEvent, type SseEvent } from '@parley/core'
import { chatFailure } from './errors.js'

interface MessageData {
  readonly id?: string
  readonly type?: string
  readonly content?: string
  readonly content_type?: string
  readonly reasoning_content?: string
}

interface ChatData {
  readonly usage?: { readonly input_count?: number; readonly output_count?: number; readonly token_count?: number }
  readonly last_error?: { readonly code?: number; readonly msg?: string }
}

/** Between two answer messages of one chat (a workflow's message nodes), so they do not run together. */
const ANSWER_SEPARATOR = '\n\n'

/**
 * Reads the SSE stream of `POST /v3/chat` as gateway events:
 * - `conversation.message.delta` of an `answer`: `reasoning_content` → reasoning, `content` → text;
 * - `conversation.message.completed` of an `answer` whose deltas never came → its text at once;
 *   `verbose`, `follow_up`, tool and card messages are not part of the reply;
 * - `conversation.chat.completed` → the usage Coze counted (`input_count`, `output_count`), done;
 * - `conversation.chat.failed` (`last_error`) and `error` (`code`, `msg`) → an error;
 * - `conversation.chat.requires_action` → an error: Parley cannot run a bot's client-side tools;
 * - `done` ends the stream. A stream that ends before the chat completed is an error.
 */
export async function* readChat(
  body: AsyncIterable<Uint8Array>,
  secrets: readonly string[],
): AsyncGenerator<ChatEvent> {
  const splitter = new SseSplitter()
  const state: ReadState = { answered: new Set(), lastAnswer: undefined, wrote: false, completed: false }
  let ended: Stop = false
  read: for await (const chunk of body) {
    for (const event of splitter.push(chunk)) {
      const outcome = handle(event, state, secrets)
      yield* outcome.events
      ended = outcome.stop
      if (ended) break read
    }
  }
  const rest = ended ? undefined : splitter.rest()
  if (rest) {
    const outcome = handle(rest, state, secrets)
    yield* outcome.events
    ended = outcome.stop
  }
  if (ended !== 'failed' && !state.completed) {
    yield {
      type: 'error',
      status: 502,
      retryable: true,
      upstreamCode: 'stream_ended_early',
      message: 'Coze ended the answer before the chat completed',
    }
  }
}

/** Why reading stops: the `done` event, a failure already reported, or not yet. */
type Stop = 'done' | 'failed' | false

interface ReadState {
  /** Answer messages that have sent deltas. */
  readonly answered: Set<string>
  lastAnswer: string | undefined
  wrote: boolean
  completed: boolean
}

function handle(event: SseEvent, state: ReadState, secrets: readonly string[]): { events: ChatEvent[]; stop: Stop } {
  const events: ChatEvent[] = []
  switch (event.name) {
    case 'conversation.message.delta': {
      const message = parse<MessageData>(event.data)
      if (!message || (message.type !== undefined && message.type !== 'answer')) break
      if (message.reasoning_content) events.push({ type: 'reasoning', delta: message.reasoning_content })
      if (message.content) events.push(...text(state, message.id, message.content))
      if (message.id) state.answered.add(message.id)
      break
    }
    case 'conversation.message.completed': {
      const message = parse<MessageData>(event.data)
      if (!message || message.type !== 'answer' || (message.id && state.answered.has(message.id))) break
      if ((message.content_type === undefined || message.content_type === 'text') && message.content)
        events.push(...text(state, message.id, message.content))
      break
    }
    case 'conversation.chat.completed': {
      const usage = parse<ChatData>(event.data)?.usage
      if (typeof usage?.input_count === 'number' && typeof usage.output_count === 'number') {
        events.push({ type: 'usage', promptTokens: usage.input_count, completionTokens: usage.output_count })
      }
      events.push({ type: 'done', finishReason: 'stop' })
      state.completed = true
      break
    }
    case 'conversation.chat.failed': {
      const failed = parse<ChatData>(event.data)?.last_error
      return { events: [chatFailure(numberOf(failed?.code), failed?.msg, secrets)], stop: 'failed' }
    }
    case 'conversation.chat.requires_action':
      return {
        events: [
          {
            type: 'error',
            status: 502,
            retryable: false,
            upstreamCode: 'requires_action',
            message: 'The Coze bot asked for the result of a client-side tool, which Parley cannot provide',
          },
        ],
        stop: 'failed',
      }
    case 'error': {
      const error = parse<{ code?: number | string; msg?: string }>(event.data)
      return { events: [chatFailure(numberOf(error?.code), error?.msg, secrets)], stop: 'failed' }
    }
    case 'done':
      return { events, stop: 'done' }
  }
  return { events, stop: false }
}

/** A text delta, after a separator when a new answer message starts. */
function text(state: ReadState, id: string | undefined, content: string): ChatEvent[] {
  const events: ChatEvent[] = []
  if (state.wrote && id !== undefined && state.lastAnswer !== undefined && id !== state.lastAnswer)
    events.push({ type: 'text', delta: ANSWER_SEPARATOR })
  if (id !== undefined) state.lastAnswer = id
  events.push({ type: 'text', delta: content })
  state.wrote = true
  return events
}

function parse<T>(data: string): T | undefined {
  try {
    const value = JSON.parse(data) as unknown
    return typeof value === 'object' && value !== null ? (value as T) : undefined
  } catch {
    return undefined
  }
}

function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value
  if (typeof value === 'string' && /^-?[0-9]+$/.test(value)) return Number(value)
  return undefined
}
