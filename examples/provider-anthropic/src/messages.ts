import type { ChatContentPart, ChatEvent, ChatMessage, ChatRequest } from '@parley/core'

/** One block of an Anthropic message: text, or an image by URL or as base64. */
type Block =
  | { type: 'text'; text: string }
  | { type: 'image'; source: { type: 'url'; url: string } | { type: 'base64'; media_type: string; data: string } }

/** The body of `POST /v1/messages` (https://docs.anthropic.com/en/api/messages). */
export interface MessagesBody {
  model: string
  max_tokens: number
  messages: { role: 'user' | 'assistant'; content: string | Block[] }[]
  system?: string
  stream?: true
  temperature?: number
  top_p?: number
  stop_sequences?: string[]
}

/**
 * The gateway's OpenAI-shaped conversation as Anthropic wants it: system and developer
 * messages move to the top-level `system`, the rest keep their order. This example sends text
 * and images; tool calls are left out.
 */
export function messagesBody(request: ChatRequest, defaultMaxTokens: number): MessagesBody {
  const system: string[] = []
  const messages: MessagesBody['messages'] = []
  for (const message of request.messages) {
    if (message.role === 'system' || message.role === 'developer') system.push(textOf(message))
    else if (message.role === 'user' || message.role === 'assistant')
      messages.push({ role: message.role, content: contentOf(message) })
  }
  const p = request.parameters
  const maxTokens = p.max_completion_tokens ?? p.max_tokens
  const stop = typeof p.stop === 'string' ? [p.stop] : Array.isArray(p.stop) ? (p.stop as string[]) : undefined
  return {
    model: request.model,
    max_tokens: typeof maxTokens === 'number' ? maxTokens : defaultMaxTokens,
    messages,
    ...(system.length > 0 ? { system: system.join('\n\n') } : {}),
    ...(request.stream ? { stream: true as const } : {}),
    ...(typeof p.temperature === 'number' ? { temperature: p.temperature } : {}),
    ...(typeof p.top_p === 'number' ? { top_p: p.top_p } : {}),
    ...(stop ? { stop_sequences: stop } : {}),
  }
}

function textOf(message: ChatMessage): string {
  if (typeof message.content === 'string') return message.content
  return (message.content ?? []).map(part => (part.type === 'text' ? part.text : '')).join('')
}

function contentOf(message: ChatMessage): string | Block[] {
  if (typeof message.content === 'string' || message.content === null) return message.content ?? ''
  return message.content.map(blockOf)
}

function blockOf(part: ChatContentPart): Block {
  if (part.type === 'text') return { type: 'text', text: part.text }
  const inline = /^data:([^;,]+);base64,(.*)$/s.exec(part.image_url.url)
  return inline
    ? { type: 'image', source: { type: 'base64', media_type: inline[1] as string, data: inline[2] as string } }
    : { type: 'image', source: { type: 'url', url: part.image_url.url } }
}

/** Anthropic's `stop_reason` as an OpenAI `finish_reason`. */
export function finishOf(stopReason: unknown): Extract<ChatEvent, { type: 'done' }>['finishReason'] {
  if (stopReason === 'max_tokens') return 'length'
  if (stopReason === 'tool_use') return 'tool_calls'
  if (stopReason === 'refusal') return 'content_filter'
  return 'stop'
}

/**
 * An Anthropic error (`{type:"error", error:{type, message}}`, as a response or a stream event)
 * as a pipeline error: refused keys fail over to the next key, rate limits, overload (529) and
 * server trouble are retryable, anything else concerns the request and goes to the client.
 */
export function failureOf(status: number, body: unknown, apiKey: string): Extract<ChatEvent, { type: 'error' }> {
  const error = (body as { error?: { type?: unknown; message?: unknown } } | undefined)?.error
  const kind = typeof error?.type === 'string' ? error.type : undefined
  const said = typeof error?.message === 'string' ? error.message.replaceAll(apiKey || '\0', '[key]') : undefined
  const message = `Anthropic: ${said ?? `HTTP ${status}`}`
  const upstreamCode = kind ? { upstreamCode: kind } : {}
  if (status === 401 || status === 403) return { type: 'error', status, keyProblem: true, message, ...upstreamCode }
  const retryable = status === 429 || status >= 500
  return { type: 'error', status: status >= 500 ? 502 : status, retryable, message, ...upstreamCode }
}
