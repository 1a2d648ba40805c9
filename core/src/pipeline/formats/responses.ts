import type { PromptMessage } from '../../usage/tokens.js'
import type { ChatRequest } from '../provider.js'
import { type SseEvent } from '../sse.js'
import {
  arrayOf,
  dataOf,
  errorOf,
  Kept,
  markerPattern,
  wellFormed,
  type StreamTap,
  type TapResult,
  type TokenUsage,
} from '../stream-tap.js'
import { parseJson } from '../whole-answer.js'
import type { Json, WireFormat } from './format.js'
import { responsesInputToMessages, responsesParameters } from './responses-request.js'
import { responseObjectBody, responsesEventWriter } from './responses-writer.js'

/** What `/responses` is: OpenAI's Responses API, its typed events, the response object. */
export const responses: WireFormat = {
  name: 'responses',
  path: '/responses',

  upstreamBody: (body, upstreamModel) => ({ ...body, model: upstreamModel }),
  tap: () => responsesTap(),
  usage: responsesUsage,
  answerText: responseText,
  outputOf(event) {
    const type = typeOf(event)
    const delta = type?.endsWith('.delta') ? parseJson(event.data)?.delta : undefined
    if (typeof delta !== 'string' || delta === '') return []
    if (type === 'response.output_text.delta') return [{ type: 'text', text: delta }]
    if (type?.startsWith('response.reasoning')) return [{ type: 'reasoning', text: delta }]
    return []
  },

  chatRequest: (body, upstreamModel): ChatRequest => ({
    model: upstreamModel,
    messages: responsesInputToMessages(body),
    stream: body.stream === true,
    parameters: responsesParameters(body),
  }),
  answerBody: responseObjectBody,
  streamWriter: responsesEventWriter,

  // Tool calls are typed loosely in chat messages; the estimate reads what it knows of them.
  promptMessages: body => responsesInputToMessages(body) as PromptMessage[],
  failFrame: (type, message, code = type) =>
    `event: error\ndata: ${JSON.stringify({ type: 'error', code, message, param: null })}\n\n`,
}

const MARKERS = markerPattern(['response.completed', 'response.incomplete', 'response.failed', 'error'])
/** The events a Responses stream has: `response.*` and `error`. */
const isResponsesEvent = (name: string): boolean => name.startsWith('response.') || name === 'error'

/**
 * Responses API: usage comes inside the final `response.completed` (or `.incomplete`/`.failed`)
 * event. Only the format's events go on (named `response.*` or `error`, with JSON data), and
 * nothing after the final one.
 */
export function responsesTap(): StreamTap {
  let usage: TokenUsage | undefined
  let error: TapResult['error']
  let complete = false
  // Text deltas are kept raw and parsed only at the end (for an estimate, when usage is missing).
  const deltas = new Kept()
  // `ended` is a plain property, not a getter: see `StreamTap.ended`.
  const tap: StreamTap & { ended: boolean } = {
    markers: MARKERS,
    ended: false,
    plain: text => wellFormed(text, isResponsesEvent),
    skip(bytes) {
      deltas.add(bytes)
    },
    forward(event: SseEvent) {
      if (tap.ended) return false
      if (event.data === '' && event.name === undefined) return event.comment
      const type = typeOf(event)
      if (type === undefined || !isResponsesEvent(type) || event.extra || event.data.charCodeAt(0) !== 0x7b)
        return false
      if (type.endsWith('.delta')) {
        deltas.add(isTextDelta(type) ? event.data : '', event.raw.length)
        return true
      }
      if (type === 'response.completed' || type === 'response.incomplete' || type === 'response.failed') {
        complete = type !== 'response.failed'
        tap.ended = true
        const response = parseJson(event.data)?.response as Json | undefined
        const found = responsesUsage(response?.usage)
        if (found) usage = found
        if (type === 'response.failed' && response?.error) error = errorOf(response.error)
      } else if (type === 'error') {
        error = errorOf(parseJson(event.data) ?? {})
      }
      return true
    },
    result: () => {
      const outputText = deltaText(dataOf(deltas.seen, event => isTextDelta(typeOf(event))))
      return { usage, outputText, unseenChars: deltas.unseen(outputText.length), error, complete }
    },
  }
  return tap
}

function typeOf(event: SseEvent): string | undefined {
  return event.name ?? /"type":\s*"([^"]+)"/.exec(event.data)?.[1]
}

function isTextDelta(type: string | undefined): boolean {
  return (
    type === 'response.output_text.delta' ||
    type === 'response.function_call_arguments.delta' ||
    (type?.startsWith('response.reasoning') === true && type.endsWith('.delta'))
  )
}

function deltaText(payloads: readonly string[]): string {
  let text = ''
  for (const payload of payloads) {
    const delta = parseJson(payload)?.delta
    if (typeof delta === 'string') text += delta
  }
  return text
}

/** Usage in a Responses API object (`usage.input_tokens`, `usage.output_tokens`). */
export function responsesUsage(value: unknown): TokenUsage | undefined {
  const usage = value as { input_tokens?: unknown; output_tokens?: unknown } | null | undefined
  if (typeof usage?.input_tokens !== 'number' || typeof usage.output_tokens !== 'number') return undefined
  return { promptTokens: usage.input_tokens, completionTokens: usage.output_tokens }
}

/** The text of a non-streamed Responses API object's output items. */
export function responseText(body: Json | undefined): string {
  const parts: string[] = []
  for (const item of arrayOf(body?.output)) {
    const record = item as Json
    if (typeof record.arguments === 'string') parts.push(record.arguments)
    for (const part of [...arrayOf(record.content), ...arrayOf(record.summary)]) {
      const text = (part as { text?: unknown }).text
      if (typeof text === 'string') parts.push(text)
    }
  }
  return parts.join('')
}
