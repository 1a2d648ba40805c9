/**
 * The OpenAI wire format as the mock upstream writes it: chat completions (object and
 * `chat.completion.chunk` SSE frames), Responses API objects and events, model objects and the
 * error envelope. Shapes follow the public API reference, including the fields clients rarely
 * read (`usage: null` on every chunk when usage is asked for, `sequence_number` on every
 * Responses event), so a gateway that only works against a lenient mock fails here first.
 */
import { randomBytes } from 'node:crypto'

/** A resolved answer: what the mock says, already split into the pieces it streams. */
export interface WireAnswer {
  readonly model: string
  readonly textPieces: readonly string[]
  readonly reasoningPieces: readonly string[]
  /** Token counts, or undefined when the upstream reports none (the gateway must estimate). */
  readonly usage: WireUsage | undefined
}

export interface WireUsage {
  readonly prompt: number
  /** Includes the reasoning tokens, as OpenAI counts them. */
  readonly completion: number
  readonly reasoning: number
}

type Json = Record<string, unknown>

export const SYSTEM_FINGERPRINT = 'fp_parley_mock'

export function mockId(prefix: string): string {
  return `${prefix}${randomBytes(12).toString('hex')}`
}

function unixSeconds(): number {
  return Math.floor(Date.now() / 1000)
}

/** Splits text the way a model streams it: one word per piece, keeping the spaces. */
export function splitPieces(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? []
}

// ---------------------------------------------------------------- chat completions

function chatUsage(usage: WireUsage): Json {
  return {
    prompt_tokens: usage.prompt,
    completion_tokens: usage.completion,
    total_tokens: usage.prompt + usage.completion,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: usage.reasoning,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  }
}

export function chatCompletion(answer: WireAnswer): Json {
  const message: Json = { role: 'assistant', content: answer.textPieces.join(''), refusal: null, annotations: [] }
  // DeepSeek and Qwen put the chain of thought beside the content; OpenAI models never send it.
  if (answer.reasoningPieces.length > 0) message.reasoning_content = answer.reasoningPieces.join('')
  const body: Json = {
    id: mockId('chatcmpl-'),
    object: 'chat.completion',
    created: unixSeconds(),
    model: answer.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: 'stop' }],
    service_tier: 'default',
    system_fingerprint: SYSTEM_FINGERPRINT,
  }
  if (answer.usage) body.usage = chatUsage(answer.usage)
  return body
}

/** Every SSE frame of a streamed chat completion, `data: [DONE]` included. */
export function chatCompletionFrames(answer: WireAnswer, includeUsage: boolean): string[] {
  const base = {
    id: mockId('chatcmpl-'),
    object: 'chat.completion.chunk',
    created: unixSeconds(),
    model: answer.model,
    service_tier: 'default',
    system_fingerprint: SYSTEM_FINGERPRINT,
  }
  // With include_usage, the API sends `usage: null` on every chunk and the numbers on an extra last one.
  const usageField = includeUsage ? { usage: null } : {}
  const chunk = (delta: Json, finishReason: string | null = null): string =>
    frame({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }], ...usageField })
  const frames = [chunk({ role: 'assistant', content: answer.reasoningPieces.length > 0 ? null : '', refusal: null })]
  for (const piece of answer.reasoningPieces) frames.push(chunk({ content: null, reasoning_content: piece }))
  for (const piece of answer.textPieces) frames.push(chunk({ content: piece }))
  frames.push(chunk({}, 'stop'))
  if (includeUsage && answer.usage) frames.push(frame({ ...base, choices: [], usage: chatUsage(answer.usage) }))
  frames.push('data: [DONE]\n\n')
  return frames
}

function frame(data: Json): string {
  return `data: ${JSON.stringify(data)}\n\n`
}

// ---------------------------------------------------------------- Responses API

function responseUsage(usage: WireUsage): Json {
  return {
    input_tokens: usage.prompt,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: usage.completion,
    output_tokens_details: { reasoning_tokens: usage.reasoning },
    total_tokens: usage.prompt + usage.completion,
  }
}

interface ResponseIds {
  readonly response: string
  readonly message: string
  readonly reasoning: string
  readonly createdAt: number
}

function responseIds(): ResponseIds {
  return { response: mockId('resp_'), message: mockId('msg_'), reasoning: mockId('rs_'), createdAt: unixSeconds() }
}

function reasoningItem(ids: ResponseIds, text: string | undefined): Json {
  return { id: ids.reasoning, type: 'reasoning', summary: text === undefined ? [] : [{ type: 'summary_text', text }] }
}

function messageItem(ids: ResponseIds, text: string | undefined): Json {
  const content = text === undefined ? [] : [{ type: 'output_text', text, annotations: [], logprobs: [] }]
  return {
    id: ids.message,
    type: 'message',
    status: text === undefined ? 'in_progress' : 'completed',
    role: 'assistant',
    content,
  }
}

function responseObject(answer: WireAnswer, request: Json, ids: ResponseIds, done: boolean): Json {
  const output: Json[] = []
  if (done && answer.reasoningPieces.length > 0) output.push(reasoningItem(ids, answer.reasoningPieces.join('')))
  if (done) output.push(messageItem(ids, answer.textPieces.join('')))
  return {
    id: ids.response,
    object: 'response',
    created_at: ids.createdAt,
    status: done ? 'completed' : 'in_progress',
    error: null,
    incomplete_details: null,
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    model: answer.model,
    output,
    parallel_tool_calls: true,
    previous_response_id: request.previous_response_id ?? null,
    reasoning: { effort: null, summary: null },
    store: request.store ?? true,
    temperature: request.temperature ?? 1,
    text: { format: { type: 'text' } },
    tool_choice: 'auto',
    tools: [],
    top_p: request.top_p ?? 1,
    truncation: 'disabled',
    usage: done && answer.usage ? responseUsage(answer.usage) : null,
    user: null,
    metadata: request.metadata ?? {},
  }
}

export function response(answer: WireAnswer, request: Json): Json {
  return responseObject(answer, request, responseIds(), true)
}

/** Every SSE frame of a streamed response: `event: <type>` and `data: {...}` per event. */
export function responseFrames(answer: WireAnswer, request: Json): string[] {
  const ids = responseIds()
  const frames: string[] = []
  const emit = (type: string, fields: Json): void => {
    frames.push(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: frames.length, ...fields })}\n\n`)
  }
  emit('response.created', { response: responseObject(answer, request, ids, false) })
  emit('response.in_progress', { response: responseObject(answer, request, ids, false) })
  let outputIndex = 0
  if (answer.reasoningPieces.length > 0) {
    const text = answer.reasoningPieces.join('')
    const at = { item_id: ids.reasoning, output_index: outputIndex, summary_index: 0 }
    emit('response.output_item.added', { output_index: outputIndex, item: { ...reasoningItem(ids, undefined) } })
    emit('response.reasoning_summary_part.added', { ...at, part: { type: 'summary_text', text: '' } })
    for (const delta of answer.reasoningPieces) emit('response.reasoning_summary_text.delta', { ...at, delta })
    emit('response.reasoning_summary_text.done', { ...at, text })
    emit('response.reasoning_summary_part.done', { ...at, part: { type: 'summary_text', text } })
    emit('response.output_item.done', { output_index: outputIndex, item: reasoningItem(ids, text) })
    outputIndex++
  }
  const text = answer.textPieces.join('')
  const at = { item_id: ids.message, output_index: outputIndex, content_index: 0 }
  emit('response.output_item.added', { output_index: outputIndex, item: messageItem(ids, undefined) })
  emit('response.content_part.added', { ...at, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } })
  for (const delta of answer.textPieces) emit('response.output_text.delta', { ...at, delta, logprobs: [] })
  emit('response.output_text.done', { ...at, text, logprobs: [] })
  emit('response.content_part.done', { ...at, part: { type: 'output_text', text, annotations: [], logprobs: [] } })
  emit('response.output_item.done', { output_index: outputIndex, item: messageItem(ids, text) })
  emit('response.completed', { response: responseObject(answer, request, ids, true) })
  return frames
}

// ---------------------------------------------------------------- models and errors

export function modelObject(id: string, ownedBy = 'parley-mock'): Json {
  return { id, object: 'model', created: 1_700_000_000, owned_by: ownedBy }
}

export interface WireError {
  readonly message: string
  readonly type: string
  readonly param: string | null
  readonly code: string | null
}

/** The error OpenAI sends for a status, worded like the real one. */
export function defaultError(status: number): WireError {
  switch (status) {
    case 400:
      return { message: 'Invalid request.', type: 'invalid_request_error', param: null, code: null }
    case 401:
      return {
        message: 'Incorrect API key provided.',
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_api_key',
      }
    case 403:
      return {
        message: 'You are not allowed to sample from this model.',
        type: 'invalid_request_error',
        param: null,
        code: null,
      }
    case 404:
      return {
        message: 'The model does not exist or you do not have access to it.',
        type: 'invalid_request_error',
        param: null,
        code: 'model_not_found',
      }
    case 429:
      return {
        message: 'Rate limit reached for requests. Please try again later.',
        type: 'requests',
        param: null,
        code: 'rate_limit_exceeded',
      }
    case 503:
      return {
        message: 'The engine is currently overloaded, please try again later.',
        type: 'server_error',
        param: null,
        code: null,
      }
    default:
      return {
        message: 'The server had an error while processing your request. Sorry about that!',
        type: 'server_error',
        param: null,
        code: null,
      }
  }
}
