import {
  SseSplitter,
  Type,
  type ChatEvent,
  type ChatProvider,
  type ChatRequest,
  type ProviderCall,
  type Static,
  type UpstreamTarget,
  reservedUpstreamHeader,
} from '@parley/core'
import { request } from 'undici'

export const OpenAiSettings = Type.Object(
  {
    /**
     * `native`: `/v1/responses` goes to the upstream's own Responses API (OpenAI). `translate`:
     * the gateway answers it from the upstream's chat completions (DeepSeek, Qwen, vLLM...).
     */
    responses_api: Type.Union([Type.Literal('native'), Type.Literal('translate')], {
      default: 'native',
      description:
        "native: /v1/responses goes to the upstream's own Responses API; translate: answered from its chat completions",
    }),
    /** Extra request headers some upstreams want (OpenRouter's `HTTP-Referer`, a project id...). */
    headers: Type.Record(Type.String({ pattern: '^[A-Za-z0-9-]{1,64}$' }), Type.String({ maxLength: 1000 }), {
      default: {},
      description:
        'Extra request headers sent upstream (name → value), e.g. HTTP-Referer; stored in clear, so no credentials: the key goes in keys',
    }),
  },
  { additionalProperties: false },
)

type Settings = Static<typeof OpenAiSettings>

/**
 * OpenAI-compatible upstreams (OpenAI, DeepSeek, Qwen/DashScope, Moonshot, vLLM, Ollama...).
 * Chat completions and the Responses API pass through untouched; `chat` (used for translated
 * Responses calls and the channel test) streams chat completions and turns them into events.
 */
export const openaiProvider: ChatProvider = {
  settingsSchema: OpenAiSettings,
  passthrough: {
    supports: (path, target) => path === '/chat/completions' || settingsOf(target.settings).responses_api === 'native',
    prepare: (passthrough, target) => {
      const headers = headersFor(target)
      headers.accept = passthrough.body.stream === true ? 'text/event-stream' : 'application/json'
      return { url: `${target.baseUrl}${passthrough.path}`, headers }
    },
  },
  chat,
  async listModels(call) {
    const response = await request(`${call.target.baseUrl}/models`, {
      method: 'GET',
      headers: headersFor(call.target),
      dispatcher: call.dispatcher,
      signal: call.signal,
    })
    const body = (await response.body.json().catch(() => undefined)) as { data?: Array<{ id?: unknown }> } | undefined
    if (response.statusCode >= 400) throw new Error(`the upstream answered HTTP ${response.statusCode} to GET /models`)
    return (body?.data ?? []).map(model => model.id).filter((id): id is string => typeof id === 'string')
  },
}

/** An upstream answer as `chat` reads it. */
interface UpstreamResponse {
  readonly status: number
  readonly body: AsyncIterable<Uint8Array>
}

async function post(
  call: ProviderCall,
  path: string,
  body: Readonly<Record<string, unknown>>,
): Promise<UpstreamResponse> {
  const response = await request(`${call.target.baseUrl}${path}`, {
    method: 'POST',
    headers: {
      ...headersFor(call.target),
      'content-type': 'application/json',
      accept: body.stream === true ? 'text/event-stream' : 'application/json',
    },
    body: JSON.stringify(body),
    dispatcher: call.dispatcher,
    signal: call.signal,
    // The pipeline owns the first-byte and idle timeouts; undici's own 300 s ones would cut it short.
    headersTimeout: 0,
    bodyTimeout: 0,
  })
  return { status: response.statusCode, body: response.body }
}

function headersFor(target: UpstreamTarget): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const [name, value] of extraHeaders(target.settings)) headers[name] = value
  if (target.apiKey !== '') headers.authorization = `Bearer ${target.apiKey}`
  return headers
}

/** A channel's `headers` setting less the reserved ones, worked out once per settings object (the catalog's, shared by its calls). */
const extraHeadersOf = new WeakMap<object, ReadonlyArray<readonly [string, string]>>()

function extraHeaders(settings: Readonly<Record<string, unknown>>): ReadonlyArray<readonly [string, string]> {
  let extra = extraHeadersOf.get(settings)
  if (!extra) {
    // Refused when the channel is saved; skipped here too for settings stored before that check.
    extra = Object.entries(settingsOf(settings).headers).filter(([name]) => !reservedUpstreamHeader(name))
    extraHeadersOf.set(settings, extra)
  }
  return extra
}

function settingsOf(settings: Readonly<Record<string, unknown>>): Settings {
  return {
    responses_api: settings.responses_api === 'translate' ? 'translate' : 'native',
    headers:
      typeof settings.headers === 'object' && settings.headers !== null
        ? (settings.headers as Record<string, string>)
        : {},
  }
}

/** Streams a chat completion and reads its chunks as events, whatever the client asked for. */
async function* chat(chatRequest: ChatRequest, call: ProviderCall): AsyncGenerator<ChatEvent> {
  const response = await post(call, '/chat/completions', {
    ...chatRequest.parameters,
    model: chatRequest.model,
    messages: chatRequest.messages,
    stream: true,
    stream_options: { include_usage: true },
  })
  if (response.status >= 300) {
    yield await failure(response, call.target.apiKey)
    return
  }
  const splitter = new SseSplitter()
  let finished = false
  for await (const chunk of response.body) {
    for (const event of splitter.push(chunk)) {
      if (event.data === '' || event.data === '[DONE]') continue
      const payload = parse(event.data)
      if (!payload) continue
      if (payload.error) {
        yield { type: 'error', message: messageOf(payload.error, call.target.apiKey), retryable: false }
        return
      }
      for (const next of chunkEvents(payload)) {
        if (next.type === 'done') finished = true
        yield next
      }
    }
  }
  if (!finished) yield { type: 'done', finishReason: 'stop' }
}

interface Chunk {
  readonly error?: unknown
  readonly choices?: ReadonlyArray<{
    readonly delta?: {
      readonly content?: string | null
      readonly reasoning_content?: string | null
      readonly reasoning?: string | null
      readonly tool_calls?: ReadonlyArray<{
        readonly index?: number
        readonly id?: string
        readonly function?: { readonly name?: string; readonly arguments?: string }
      }>
    }
    readonly finish_reason?: string | null
  }>
  readonly usage?: { readonly prompt_tokens?: number; readonly completion_tokens?: number } | null
}

function* chunkEvents(chunk: Chunk): Generator<ChatEvent> {
  const choice = chunk.choices?.[0]
  const delta = choice?.delta
  const reasoning = delta?.reasoning_content ?? delta?.reasoning
  if (typeof reasoning === 'string' && reasoning !== '') yield { type: 'reasoning', delta: reasoning }
  if (typeof delta?.content === 'string' && delta.content !== '') yield { type: 'text', delta: delta.content }
  for (const call of delta?.tool_calls ?? []) {
    yield {
      type: 'tool_call',
      index: call.index ?? 0,
      ...(call.id ? { id: call.id } : {}),
      ...(call.function?.name ? { name: call.function.name } : {}),
      argumentsDelta: call.function?.arguments ?? '',
    }
  }
  if (choice?.finish_reason) yield { type: 'done', finishReason: finishReason(choice.finish_reason) }
  const usage = chunk.usage
  if (typeof usage?.prompt_tokens === 'number' && typeof usage.completion_tokens === 'number') {
    yield { type: 'usage', promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens }
  }
}

function finishReason(reason: string): Extract<ChatEvent, { type: 'done' }>['finishReason'] {
  return reason === 'length' || reason === 'tool_calls' || reason === 'content_filter'
    ? reason
    : reason === 'function_call'
      ? 'tool_calls'
      : 'stop'
}

async function failure(response: UpstreamResponse, apiKey: string): Promise<ChatEvent> {
  let text = ''
  for await (const chunk of response.body) {
    text += Buffer.from(chunk).toString('utf8')
    if (text.length > 64 * 1024) break
  }
  const error = parse(text)?.error as { code?: unknown } | undefined
  const status = response.status
  return {
    type: 'error',
    status,
    message: error ? messageOf(error, apiKey) : `The upstream answered HTTP ${status}`,
    ...(typeof error?.code === 'string' ? { upstreamCode: error.code } : {}),
    keyProblem: status === 401 || status === 403,
  }
}

/** The upstream's error message, with the key cut out should it quote it. */
function messageOf(error: unknown, apiKey: string): string {
  const message = (error as { message?: unknown }).message
  const text = typeof message === 'string' && message !== '' ? message.slice(0, 500) : 'The upstream reported an error'
  return apiKey.length >= 8 ? text.split(apiKey).join('***') : text
}

function parse(text: string): Chunk | undefined {
  try {
    const value = JSON.parse(text) as unknown
    return typeof value === 'object' && value !== null ? (value as Chunk) : undefined
  } catch {
    return undefined
  }
}
