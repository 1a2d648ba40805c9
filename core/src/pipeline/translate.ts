/**
 * The translating half of the data plane: a provider's normalized `ChatEvent`s become what the
 * client asked for — chat completion chunks, a chat completion, Responses API events or a
 * response object — in the wire format the official `openai` SDK reads. Also turns a Responses
 * API request into the chat form a translating provider takes.
 */
import { randomBytes } from 'node:crypto'
import type { ChatContentPart, ChatEvent, ChatMessage } from './provider.js'
import type { TokenUsage } from './sse.js'

type Json = Record<string, unknown>
type FinishReason = Extract<ChatEvent, { type: 'done' }>['finishReason']

interface ToolCall {
  id: string
  name: string
  arguments: string
}

/** Everything the events said, for a non-streamed answer, estimation and the usage row. */
export class Transcript {
  text = ''
  reasoning = ''
  readonly toolCalls = new Map<number, ToolCall>()
  finishReason: FinishReason | undefined
  usage: TokenUsage | undefined

  add(event: ChatEvent): void {
    switch (event.type) {
      case 'text':
        this.text += event.delta
        break
      case 'reasoning':
        this.reasoning += event.delta
        break
      case 'tool_call': {
        const call = this.toolCalls.get(event.index) ?? { id: event.id ?? `call_${randomId()}`, name: '', arguments: '' }
        if (event.name) call.name = event.name
        call.arguments += event.argumentsDelta
        this.toolCalls.set(event.index, call)
        break
      }
      case 'usage':
        this.usage = { promptTokens: event.promptTokens, completionTokens: event.completionTokens }
        break
      case 'done':
        this.finishReason = event.finishReason
        break
      case 'error':
        break
    }
  }

  /** The output as one string, for the tokenizer. */
  outputText(): string {
    let text = this.reasoning + this.text
    for (const call of this.toolCalls.values()) text += call.name + call.arguments
    return text
  }
}

/** Writes one streamed answer; each method returns the SSE text to send (possibly empty). */
export interface StreamWriter {
  event(event: ChatEvent): string
  /** The normal end, with the usage the row will carry. */
  end(usage: TokenUsage): string
  /** The answer broke off: an error event the SDK raises as an APIError. */
  fail(type: string, message: string): string
}

export interface AnswerMeta {
  /** The model name the client asked for. */
  readonly model: string
  readonly createdAt: number
}

// ---------------------------------------------------------------- chat completions

export function chatChunkWriter(meta: AnswerMeta, includeUsage: boolean): StreamWriter {
  const id = `chatcmpl-${randomId()}`
  let started = false
  let finished = false
  const chunk = (delta: Json, finishReason: string | null = null): string =>
    frame({ id, object: 'chat.completion.chunk', created: meta.createdAt, model: meta.model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] })
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
      if (includeUsage) out += frame({ id, object: 'chat.completion.chunk', created: meta.createdAt, model: meta.model, choices: [], usage: chatUsageBody(usage) })
      return `${out}data: [DONE]\n\n`
    },
    fail(type, message) {
      return frame({ error: { type, message, code: type, param: null } })
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
    choices: [{ index: 0, message, logprobs: null, finish_reason: transcript.finishReason ?? (transcript.toolCalls.size > 0 ? 'tool_calls' : 'stop') }],
    usage: chatUsageBody(usage),
  }
}

function chatUsageBody(usage: TokenUsage): Json {
  return { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.promptTokens + usage.completionTokens }
}

// ---------------------------------------------------------------- Responses API

interface ResponseState {
  readonly id: string
  readonly meta: AnswerMeta
  readonly request: Json
}

export function responsesEventWriter(meta: AnswerMeta, request: Json): StreamWriter {
  const state: ResponseState = { id: `resp_${randomId()}`, meta, request }
  const transcript = new Transcript()
  let sequence = 0
  let outputIndex = -1
  let open: { kind: 'reasoning' | 'message' | 'tool'; id: string; toolIndex?: number } | undefined
  const items: Json[] = []
  const emit = (type: string, fields: Json): string => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...fields })}\n\n`
  let out = ''
  const started = (): string => {
    if (sequence > 0) return ''
    const snapshot = responseBody(state, [], undefined, 'in_progress')
    return emit('response.created', { response: snapshot }) + emit('response.in_progress', { response: snapshot })
  }
  const close = (): string => {
    if (!open) return ''
    let text = ''
    if (open.kind === 'reasoning') {
      const item = reasoningItem(open.id, transcript.reasoning)
      text += emit('response.reasoning_summary_text.done', { item_id: open.id, output_index: outputIndex, summary_index: 0, text: transcript.reasoning })
      text += emit('response.reasoning_summary_part.done', { item_id: open.id, output_index: outputIndex, summary_index: 0, part: { type: 'summary_text', text: transcript.reasoning } })
      text += emit('response.output_item.done', { output_index: outputIndex, item })
      items.push(item)
    } else if (open.kind === 'message') {
      const at = { item_id: open.id, output_index: outputIndex, content_index: 0 }
      const part = { type: 'output_text', text: transcript.text, annotations: [], logprobs: [] }
      const item = messageItem(open.id, transcript.text, 'completed')
      text += emit('response.output_text.done', { ...at, text: transcript.text, logprobs: [] })
      text += emit('response.content_part.done', { ...at, part })
      text += emit('response.output_item.done', { output_index: outputIndex, item })
      items.push(item)
    } else {
      const call = transcript.toolCalls.get(open.toolIndex ?? 0) as ToolCall
      const item = functionCallItem(open.id, call, 'completed')
      text += emit('response.function_call_arguments.done', { item_id: open.id, output_index: outputIndex, arguments: call.arguments })
      text += emit('response.output_item.done', { output_index: outputIndex, item })
      items.push(item)
    }
    open = undefined
    return text
  }
  return {
    event(event) {
      out = started()
      transcript.add(event)
      switch (event.type) {
        case 'reasoning': {
          if (event.delta === '') break
          if (open?.kind !== 'reasoning') {
            out += close()
            open = { kind: 'reasoning', id: `rs_${randomId()}` }
            outputIndex++
            out += emit('response.output_item.added', { output_index: outputIndex, item: reasoningItem(open.id, undefined) })
            out += emit('response.reasoning_summary_part.added', { item_id: open.id, output_index: outputIndex, summary_index: 0, part: { type: 'summary_text', text: '' } })
          }
          out += emit('response.reasoning_summary_text.delta', { item_id: open.id, output_index: outputIndex, summary_index: 0, delta: event.delta })
          break
        }
        case 'text': {
          if (event.delta === '') break
          if (open?.kind !== 'message') {
            out += close()
            open = { kind: 'message', id: `msg_${randomId()}` }
            outputIndex++
            out += emit('response.output_item.added', { output_index: outputIndex, item: messageItem(open.id, undefined, 'in_progress') })
            out += emit('response.content_part.added', { item_id: open.id, output_index: outputIndex, content_index: 0, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } })
          }
          out += emit('response.output_text.delta', { item_id: open.id, output_index: outputIndex, content_index: 0, delta: event.delta, logprobs: [] })
          break
        }
        case 'tool_call': {
          if (open?.kind !== 'tool' || open.toolIndex !== event.index) {
            out += close()
            open = { kind: 'tool', id: `fc_${randomId()}`, toolIndex: event.index }
            outputIndex++
            const call = transcript.toolCalls.get(event.index) as ToolCall
            out += emit('response.output_item.added', { output_index: outputIndex, item: functionCallItem(open.id, { ...call, arguments: '' }, 'in_progress') })
          }
          if (event.argumentsDelta !== '') out += emit('response.function_call_arguments.delta', { item_id: open.id, output_index: outputIndex, delta: event.argumentsDelta })
          break
        }
        case 'done':
        case 'usage':
        case 'error':
          break
      }
      return out
    },
    end(usage) {
      out = started() + close()
      const status = transcript.finishReason === 'length' ? 'incomplete' : 'completed'
      const body = responseBody(state, items, usage, status)
      return out + emit(status === 'completed' ? 'response.completed' : 'response.incomplete', { response: body })
    },
    fail(type, message) {
      return started() + emit('error', { code: type, message, param: null })
    },
  }
}

export function responseObjectBody(meta: AnswerMeta, request: Json, transcript: Transcript, usage: TokenUsage): Json {
  const items: Json[] = []
  if (transcript.reasoning !== '') items.push(reasoningItem(`rs_${randomId()}`, transcript.reasoning))
  if (transcript.text !== '' || transcript.toolCalls.size === 0) items.push(messageItem(`msg_${randomId()}`, transcript.text, 'completed'))
  for (const [, call] of [...transcript.toolCalls.entries()].sort(([a], [b]) => a - b)) items.push(functionCallItem(`fc_${randomId()}`, call, 'completed'))
  return responseBody({ id: `resp_${randomId()}`, meta, request }, items, usage, transcript.finishReason === 'length' ? 'incomplete' : 'completed')
}

function responseBody(state: ResponseState, output: Json[], usage: TokenUsage | undefined, status: string): Json {
  const request = state.request
  return {
    id: state.id,
    object: 'response',
    created_at: state.meta.createdAt,
    status,
    error: null,
    incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    model: state.meta.model,
    output,
    parallel_tool_calls: request.parallel_tool_calls ?? true,
    previous_response_id: request.previous_response_id ?? null,
    reasoning: { effort: null, summary: null },
    store: false,
    temperature: request.temperature ?? 1,
    text: { format: { type: 'text' } },
    tool_choice: request.tool_choice ?? 'auto',
    tools: request.tools ?? [],
    top_p: request.top_p ?? 1,
    truncation: 'disabled',
    usage: usage
      ? {
          input_tokens: usage.promptTokens,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: usage.completionTokens,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: usage.promptTokens + usage.completionTokens,
        }
      : null,
    user: null,
    metadata: request.metadata ?? {},
  }
}

function reasoningItem(id: string, text: string | undefined): Json {
  return { id, type: 'reasoning', summary: text === undefined ? [] : [{ type: 'summary_text', text }] }
}

function messageItem(id: string, text: string | undefined, status: string): Json {
  const content = text === undefined ? [] : [{ type: 'output_text', text, annotations: [], logprobs: [] }]
  return { id, type: 'message', status, role: 'assistant', content }
}

function functionCallItem(id: string, call: ToolCall, status: string): Json {
  return { id, type: 'function_call', status, call_id: call.id, name: call.name, arguments: call.arguments }
}

// ---------------------------------------------------------------- Responses request → chat

/**
 * A Responses API request in chat form, for translating providers: `instructions` become a
 * system message, `input` (a string or a list of items) the conversation. Function calls and
 * their outputs become assistant tool calls and tool messages.
 */
export function responsesInputToMessages(body: Json): ChatMessage[] {
  const messages: ChatMessage[] = []
  if (typeof body.instructions === 'string' && body.instructions !== '') messages.push({ role: 'system', content: body.instructions })
  const input = body.input
  if (typeof input === 'string') {
    messages.push({ role: 'user', content: input })
    return messages
  }
  if (!Array.isArray(input)) return messages
  for (const raw of input) {
    const item = (raw ?? {}) as Json
    const type = item.type ?? 'message'
    if (type === 'message') {
      const role = item.role === 'assistant' || item.role === 'system' || item.role === 'developer' ? item.role : 'user'
      messages.push({ role, content: contentParts(item.content) })
    } else if (type === 'function_call') {
      messages.push({
        role: 'assistant',
        content: null,
        tool_calls: [{ id: String(item.call_id ?? ''), type: 'function', function: { name: String(item.name ?? ''), arguments: String(item.arguments ?? '') } }],
      })
    } else if (type === 'function_call_output') {
      messages.push({ role: 'tool', tool_call_id: String(item.call_id ?? ''), content: typeof item.output === 'string' ? item.output : JSON.stringify(item.output ?? '') })
    }
  }
  return messages
}

function contentParts(content: unknown): string | ChatContentPart[] {
  if (typeof content === 'string') return content
  const parts: ChatContentPart[] = []
  for (const raw of Array.isArray(content) ? content : []) {
    const part = (raw ?? {}) as Json
    if ((part.type === 'input_text' || part.type === 'output_text' || part.type === 'text') && typeof part.text === 'string') {
      parts.push({ type: 'text', text: part.text })
    } else if (part.type === 'input_image' && typeof part.image_url === 'string') {
      const detail = typeof part.detail === 'string' ? { detail: part.detail } : {}
      parts.push({ type: 'image_url', image_url: { url: part.image_url, ...detail } })
    }
  }
  return parts
}

/** Chat parameters a Responses request carries under other names. */
export function responsesParameters(body: Json): Json {
  const parameters: Json = {}
  for (const key of ['temperature', 'top_p', 'parallel_tool_calls', 'metadata', 'user']) if (body[key] !== undefined) parameters[key] = body[key]
  if (typeof body.max_output_tokens === 'number') parameters.max_tokens = body.max_output_tokens
  const choice = body.tool_choice as Json | string | undefined
  if (typeof choice === 'string') parameters.tool_choice = choice
  else if (choice?.type === 'function' && typeof choice.name === 'string') parameters.tool_choice = { type: 'function', function: { name: choice.name } }
  const effort = (body.reasoning as Json | undefined)?.effort
  if (typeof effort === 'string') parameters.reasoning_effort = effort
  const format = (body.text as Json | undefined)?.format as Json | undefined
  if (format?.type === 'json_object') parameters.response_format = { type: 'json_object' }
  else if (format?.type === 'json_schema') {
    const { type: _type, ...schema } = format
    parameters.response_format = { type: 'json_schema', json_schema: schema }
  }
  if (Array.isArray(body.tools)) {
    parameters.tools = body.tools
      .filter(tool => (tool as Json)?.type === 'function')
      .map(tool => {
        const { name, description, parameters: schema, strict } = tool as Json
        return { type: 'function', function: { name, description, parameters: schema, strict } }
      })
  }
  return parameters
}

function frame(data: Json): string {
  return `data: ${JSON.stringify(data)}\n\n`
}

function randomId(): string {
  return randomBytes(12).toString('hex')
}
