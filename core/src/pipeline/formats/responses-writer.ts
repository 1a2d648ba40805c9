import { randomId, Transcript, type AnswerMeta, type StreamWriter, type ToolCall } from '../transcript.js'
import type { TokenUsage } from '../stream-tap.js'
import type { Json } from './format.js'

/*
 * A translated answer in the Responses API's shape: its typed events (`response.created`,
 * output items, deltas, `response.completed`) as the official SDK reads them, or the whole
 * response object.
 */

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
  const emit = (type: string, fields: Json): string =>
    `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...fields })}\n\n`
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
      text += emit('response.reasoning_summary_text.done', {
        item_id: open.id,
        output_index: outputIndex,
        summary_index: 0,
        text: transcript.reasoning,
      })
      text += emit('response.reasoning_summary_part.done', {
        item_id: open.id,
        output_index: outputIndex,
        summary_index: 0,
        part: { type: 'summary_text', text: transcript.reasoning },
      })
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
      text += emit('response.function_call_arguments.done', {
        item_id: open.id,
        output_index: outputIndex,
        arguments: call.arguments,
      })
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
            out += emit('response.output_item.added', {
              output_index: outputIndex,
              item: reasoningItem(open.id, undefined),
            })
            out += emit('response.reasoning_summary_part.added', {
              item_id: open.id,
              output_index: outputIndex,
              summary_index: 0,
              part: { type: 'summary_text', text: '' },
            })
          }
          out += emit('response.reasoning_summary_text.delta', {
            item_id: open.id,
            output_index: outputIndex,
            summary_index: 0,
            delta: event.delta,
          })
          break
        }
        case 'text': {
          if (event.delta === '') break
          if (open?.kind !== 'message') {
            out += close()
            open = { kind: 'message', id: `msg_${randomId()}` }
            outputIndex++
            out += emit('response.output_item.added', {
              output_index: outputIndex,
              item: messageItem(open.id, undefined, 'in_progress'),
            })
            out += emit('response.content_part.added', {
              item_id: open.id,
              output_index: outputIndex,
              content_index: 0,
              part: { type: 'output_text', text: '', annotations: [], logprobs: [] },
            })
          }
          out += emit('response.output_text.delta', {
            item_id: open.id,
            output_index: outputIndex,
            content_index: 0,
            delta: event.delta,
            logprobs: [],
          })
          break
        }
        case 'tool_call': {
          if (open?.kind !== 'tool' || open.toolIndex !== event.index) {
            out += close()
            open = { kind: 'tool', id: `fc_${randomId()}`, toolIndex: event.index }
            outputIndex++
            const call = transcript.toolCalls.get(event.index) as ToolCall
            out += emit('response.output_item.added', {
              output_index: outputIndex,
              item: functionCallItem(open.id, { ...call, arguments: '' }, 'in_progress'),
            })
          }
          if (event.argumentsDelta !== '')
            out += emit('response.function_call_arguments.delta', {
              item_id: open.id,
              output_index: outputIndex,
              delta: event.argumentsDelta,
            })
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
    fail(type, message, code = type) {
      return started() + emit('error', { code, message, param: null })
    },
  }
}

export function responseObjectBody(meta: AnswerMeta, request: Json, transcript: Transcript, usage: TokenUsage): Json {
  const items: Json[] = []
  if (transcript.reasoning !== '') items.push(reasoningItem(`rs_${randomId()}`, transcript.reasoning))
  if (transcript.text !== '' || transcript.toolCalls.size === 0)
    items.push(messageItem(`msg_${randomId()}`, transcript.text, 'completed'))
  for (const [, call] of [...transcript.toolCalls.entries()].sort(([a], [b]) => a - b))
    items.push(functionCallItem(`fc_${randomId()}`, call, 'completed'))
  return responseBody(
    { id: `resp_${randomId()}`, meta, request },
    items,
    usage,
    transcript.finishReason === 'length' ? 'incomplete' : 'completed',
  )
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
