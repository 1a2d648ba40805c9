import type { ChatContentPart, ChatMessage } from '../provider.js'
import type { Json } from './format.js'

/**
 * A Responses API request in chat form, for translating providers: `instructions` become a
 * system message, `input` (a string or a list of items) the conversation. Function calls and
 * their outputs become assistant tool calls and tool messages.
 */
export function responsesInputToMessages(body: Json): ChatMessage[] {
  const messages: ChatMessage[] = []
  if (typeof body.instructions === 'string' && body.instructions !== '')
    messages.push({ role: 'system', content: body.instructions })
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
        tool_calls: [
          {
            id: String(item.call_id ?? ''),
            type: 'function',
            function: { name: String(item.name ?? ''), arguments: String(item.arguments ?? '') },
          },
        ],
      })
    } else if (type === 'function_call_output') {
      messages.push({
        role: 'tool',
        tool_call_id: String(item.call_id ?? ''),
        content: typeof item.output === 'string' ? item.output : JSON.stringify(item.output ?? ''),
      })
    }
  }
  return messages
}

function contentParts(content: unknown): string | ChatContentPart[] {
  if (typeof content === 'string') return content
  const parts: ChatContentPart[] = []
  for (const raw of Array.isArray(content) ? content : []) {
    const part = (raw ?? {}) as Json
    if (
      (part.type === 'input_text' || part.type === 'output_text' || part.type === 'text') &&
      typeof part.text === 'string'
    ) {
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
  for (const key of ['temperature', 'top_p', 'parallel_tool_calls', 'metadata', 'user'])
    if (body[key] !== undefined) parameters[key] = body[key]
  if (typeof body.max_output_tokens === 'number') parameters.max_tokens = body.max_output_tokens
  const choice = body.tool_choice as Json | string | undefined
  if (typeof choice === 'string') parameters.tool_choice = choice
  else if (choice?.type === 'function' && typeof choice.name === 'string')
    parameters.tool_choice = { type: 'function', function: { name: choice.name } }
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
