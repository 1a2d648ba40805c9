import type { PromptMessage } from '../../usage/tokens.js'
import type { CallOutput } from '../lifecycle.js'
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
import { frame, randomId, type AnswerMeta, type StreamWriter, type Transcript } from '../transcript.js'
import type { Json, WireFormat } from './format.js'

/** What `/chat/completions` is: OpenAI's chat completion, its chunks, `[DONE]`. */
export const chatCompletions: WireFormat = {
  name: 'chat',
  path: '/chat/completions',

  upstreamBody(body, upstreamModel, stream) {
    const out: Json = { ...body, model: upstreamModel }
    // Usage comes only when asked for; the tap drops the extra chunk if the client did not ask.
    if (stream) out.stream_options = { ...(body.stream_options as Json | undefined), include_usage: true }
    return out
  },
  tap: body => chatCompletionsTap(clientWantsUsage(body)),
  usage: chatUsage,
  answerText: chatCompletionText,
  outputOf(event) {
    const pieces: CallOutput[] = []
    for (const choice of arrayOf(parseJson(event.data)?.choices)) {
      const delta = (choice as { delta?: Json }).delta
      for (const [field, type] of [
        ['reasoning_content', 'reasoning'],
        ['reasoning', 'reasoning'],
        ['content', 'text'],
      ] as const) {
        const text = delta?.[field]
        if (typeof text === 'string' && text !== '') pieces.push({ type, text })
      }
    }
    return pieces
  },

  chatRequest(body, upstreamModel): ChatRequest {
    const { model: _model, messages, stream, ...parameters } = body
    return { model: upstreamModel, messages: messages as ChatRequest['messages'], stream: stream === true, parameters }
  },
  answerBody: (meta, _body, transcript, usage) => chatCompletionBody(meta, transcript, usage),
  streamWriter: (meta, body) => chatChunkWriter(meta, clientWantsUsage(body)),

  promptMessages: body => (Array.isArray(body.messages) ? (body.messages as PromptMessage[]) : []),
  failFrame: (type, message, code = type) => frame({ error: { type, message, code, param: null } }),
}

function clientWantsUsage(body: Json): boolean {
  return (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true
}

const MARKERS = markerPattern(['"usage":{', '"usage": {', '"error"', '[DONE]'])

/**
 * Chat completions: usage comes on the extra last chunk that `stream_options.include_usage`
 * adds (choices empty); when the client did not ask for it, that chunk is dropped. Only what
 * the format sends goes on: unnamed events whose data is a JSON object or `[DONE]`, comments;
 * nothing after `[DONE]` (an upstream's named event, `retry:`, text that is not JSON are dropped).
 */
export function chatCompletionsTap(clientWantsUsage: boolean): StreamTap {
  let usage: TokenUsage | undefined
  let error: TapResult['error']
  // Data payloads are kept raw and parsed only if usage never comes: the common path parses
  // just the one usage chunk.
  const payloads = new Kept()
  // `ended` is a plain property, not a getter: see `StreamTap.ended`.
  const tap: StreamTap & { ended: boolean } = {
    markers: MARKERS,
    ended: false,
    plain: text => wellFormed(text, () => false),
    skip(bytes) {
      payloads.add(bytes)
    },
    forward(event: SseEvent) {
      if (tap.ended) return false
      const data = event.data
      if (event.name !== undefined || event.extra) return false
      if (data === '[DONE]') {
        tap.ended = true
        return true
      }
      if (data === '') return event.comment
      if (data.charCodeAt(0) !== 0x7b) return false
      if (data.includes('"usage":{') || data.includes('"usage": {')) {
        const parsed = parseJson(data)
        const found = chatUsage(parsed?.usage)
        if (found) usage = found
        const choices = parsed?.choices
        if (Array.isArray(choices) && choices.length === 0) return clientWantsUsage
        payloads.add(data, event.raw.length)
        return true
      }
      if (data.startsWith('{"error"') || data.includes('"error":{')) {
        const parsed = parseJson(data)
        if (parsed && typeof parsed.error === 'object' && parsed.error !== null) error = errorOf(parsed.error)
      }
      payloads.add(data, event.raw.length)
      return true
    },
    result: () => {
      const outputText = usage ? '' : chatStreamText(dataOf(payloads.seen))
      return {
        usage,
        outputText,
        unseenChars: usage ? 0 : payloads.unseen(outputText.length),
        error,
        complete: tap.ended,
      }
    },
  }
  return tap
}

/** Usage in a chat completion (`usage.prompt_tokens`, `usage.completion_tokens`). */
export function chatUsage(value: unknown): TokenUsage | undefined {
  const usage = value as { prompt_tokens?: unknown; completion_tokens?: unknown } | null | undefined
  if (typeof usage?.prompt_tokens !== 'number' || typeof usage.completion_tokens !== 'number') return undefined
  return { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens }
}

/** The text of a non-streamed chat completion's choices (answer, reasoning, tool arguments). */
export function chatCompletionText(body: Json | undefined): string {
  const parts: string[] = []
  for (const choice of arrayOf(body?.choices)) collectMessageText((choice as { message?: Json }).message, parts)
  return parts.join('')
}

function chatStreamText(payloads: readonly string[]): string {
  const parts: string[] = []
  for (const payload of payloads) {
    for (const choice of arrayOf(parseJson(payload)?.choices))
      collectMessageText((choice as { delta?: Json }).delta, parts)
  }
  return parts.join('')
}

function collectMessageText(message: Json | undefined, parts: string[]): void {
  if (!message) return
  for (const field of ['content', 'reasoning_content', 'reasoning'] as const) {
    const value = message[field]
    if (typeof value === 'string') parts.push(value)
  }
  for (const call of arrayOf(message.tool_calls)) {
    const fn = (call as { function?: { name?: unknown; arguments?: unknown } }).function
    if (typeof fn?.name === 'string') parts.push(fn.name)
    if (typeof fn?.arguments === 'string') parts.push(fn.arguments)
  }
}

export function chatChunkWriter(meta: AnswerMeta, includeUsage: boolean): StreamWriter {
  const id = `chatcmpl-${randomId()}`
  let started = false
  let finished = false
  const chunk = (delta: Json, finishReason: string | null = null): string =>
    frame({
      id,
      object: 'chat.completion.chunk',
      created: meta.createdAt,
      model: meta.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    })
  const opening = (): string => {
    if (started) return ''
    started = true
    return chunk({ role: 'assistant', content: '' })
  }
  return {
    event(event) {
      switch (event.type) {
        case 'text':
          return event.delta === '' ? '' : opening() + chunk({ content: event.delta })
        case 'reasoning':
          return event.delta === '' ? '' : opening() + chunk({ content: null, reasoning_content: event.delta })
        case 'tool_call': {
          const fn: Json = { arguments: event.argumentsDelta }
          if (event.name) fn.name = event.name
          const call: Json = { index: event.index, function: fn }
          if (event.id) Object.assign(call, { id: event.id, type: 'function' })
          return opening() + chunk({ tool_calls: [call] })
        }
        case 'done':
          finished = true
          return opening() + chunk({}, event.finishReason)
        case 'usage':
        case 'error':
          return ''
      }
    },
    end(usage) {
      let out = opening()
      if (!finished) out += chunk({}, 'stop')
      if (includeUsage)
        out += frame({
          id,
          object: 'chat.completion.chunk',
          created: meta.createdAt,
          model: meta.model,
          choices: [],
          usage: chatUsageBody(usage),
        })
      return `${out}data: [DONE]\n\n`
    },
    fail(type, message, code = type) {
      return frame({ error: { type, message, code, param: null } })
    },
  }
}

export function chatCompletionBody(meta: AnswerMeta, transcript: Transcript, usage: TokenUsage): Json {
  const message: Json = { role: 'assistant', content: transcript.text, refusal: null }
  if (transcript.reasoning !== '') message.reasoning_content = transcript.reasoning
  if (transcript.toolCalls.size > 0) {
    message.tool_calls = [...transcript.toolCalls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, call]) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } }))
  }
  return {
    id: `chatcmpl-${randomId()}`,
    object: 'chat.completion',
    created: meta.createdAt,
    model: meta.model,
    choices: [
      {
        index: 0,
        message,
        logprobs: null,
        finish_reason: transcript.finishReason ?? (transcript.toolCalls.size > 0 ? 'tool_calls' : 'stop'),
      },
    ],
    usage: chatUsageBody(usage),
  }
}

function chatUsageBody(usage: TokenUsage): Json {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
  }
}
