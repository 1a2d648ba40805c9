import { SseSplitter, Type, type ChatEvent, type ChatProvider, type ProviderCall, type Static } from '@parley/core'
import { request } from 'undici'
import { failureOf, finishOf, messagesBody, type MessagesBody } from './messages.js'

/** A channel's `settings` for this provider: checked when the channel is saved, a form in the console. */
export const AnthropicSettings = Type.Object(
  {
    /** Anthropic requires `max_tokens`; this is used when the client sends none. */
    max_tokens: Type.Integer({ minimum: 1, maximum: 128_000, default: 1024 }),
    anthropic_version: Type.String({ minLength: 1, default: '2023-06-01' }),
  },
  { additionalProperties: false },
)

/** The HTTP status Anthropic uses for an error type that arrives inside a stream. */
const STREAM_ERROR_STATUS: Record<string, number> = { overloaded_error: 529, rate_limit_error: 429, api_error: 500 }

export const anthropicProvider: ChatProvider = {
  settingsSchema: AnthropicSettings,
  async *chat(chat, call) {
    const settings = call.target.settings as Static<typeof AnthropicSettings>
    const body = messagesBody(chat, settings.max_tokens)
    const response = await post(call, settings, body)
    if (response.statusCode >= 300) {
      yield failureOf(response.statusCode, parse(await response.body.text()), call.target.apiKey)
      return
    }
    if (!body.stream) {
      const message = (await response.body.json()) as AnthropicMessage
      const text = message.content.map(block => (block.type === 'text' ? block.text : '')).join('')
      yield { type: 'text', delta: text }
      yield { type: 'usage', promptTokens: message.usage.input_tokens, completionTokens: message.usage.output_tokens }
      yield { type: 'done', finishReason: finishOf(message.stop_reason) }
      return
    }
    yield* readStream(response.body, call.target.apiKey)
  },
}

interface AnthropicMessage {
  readonly content: readonly { type: string; text?: string }[]
  readonly stop_reason: string | null
  readonly usage: { readonly input_tokens: number; readonly output_tokens: number }
}

function post(call: ProviderCall, settings: Static<typeof AnthropicSettings>, body: MessagesBody) {
  return request(`${call.target.baseUrl}/v1/messages`, {
    method: 'POST',
    headers: {
      'x-api-key': call.target.apiKey,
      'anthropic-version': settings.anthropic_version,
      'content-type': 'application/json',
    },
    body: JSON.stringify(body),
    // The SSRF-checked pool and the call's signal: every upstream request goes through them.
    dispatcher: call.dispatcher,
    signal: call.signal,
    // The pipeline owns the first-byte and idle timeouts.
    headersTimeout: 0,
    bodyTimeout: 0,
  })
}

/**
 * The stream's events: `message_start` (input tokens), `content_block_delta` (text),
 * `message_delta` (stop reason, output tokens), `message_stop`, and `error`. A stream that
 * ends without `message_stop` is an error.
 */
async function* readStream(body: AsyncIterable<Uint8Array>, apiKey: string): AsyncGenerator<ChatEvent> {
  const splitter = new SseSplitter()
  let input = 0
  let output = 0
  let finish: unknown = null
  for await (const chunk of body) {
    for (const event of splitter.push(chunk)) {
      if (event.comment || event.data === '') continue
      const data = JSON.parse(event.data) as StreamData
      if (data.type === 'message_start') input = data.message?.usage?.input_tokens ?? 0
      else if (data.type === 'content_block_delta' && data.delta?.type === 'text_delta')
        yield { type: 'text', delta: data.delta.text ?? '' }
      else if (data.type === 'message_delta') {
        finish = data.delta?.stop_reason
        output = data.usage?.output_tokens ?? output
      } else if (data.type === 'error') {
        yield failureOf(STREAM_ERROR_STATUS[data.error?.type ?? ''] ?? 502, data, apiKey)
        return
      } else if (data.type === 'message_stop') {
        yield { type: 'usage', promptTokens: input, completionTokens: output }
        yield { type: 'done', finishReason: finishOf(finish) }
        return
      }
    }
  }
  yield { type: 'error', status: 502, message: 'Anthropic ended the stream before message_stop' }
}

interface StreamData {
  readonly type: string
  readonly message?: { usage?: { input_tokens?: number } }
  readonly delta?: { type?: string; text?: string; stop_reason?: string | null }
  readonly usage?: { output_tokens?: number }
  readonly error?: { type?: string; message?: string }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
