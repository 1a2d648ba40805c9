import type { Logger } from '../logger.js'

/** A chat message in OpenAI's shape, which is the gateway's normalized form. */
export interface ChatMessage {
  readonly role: 'system' | 'developer' | 'user' | 'assistant' | 'tool'
  readonly content:
    | string
    | null
    | readonly (
        | { readonly type: 'text'; readonly text: string }
        | { readonly type: 'image_url'; readonly image_url: { readonly url: string; readonly detail?: string } }
      )[]
  readonly name?: string
  readonly tool_call_id?: string
  readonly tool_calls?: readonly unknown[]
  readonly reasoning_content?: string
}

export interface ChatRequest {
  /** The upstream model name after alias resolution. */
  readonly model: string
  readonly messages: readonly ChatMessage[]
  readonly stream: boolean
  /** Everything else the client sent (temperature, tools, ...), passed on untouched. */
  readonly parameters: Readonly<Record<string, unknown>>
}

/** What a translating provider emits; the pipeline turns it into OpenAI chunks or Responses events. */
export type ChatEvent =
  | { readonly type: 'text'; readonly delta: string }
  | { readonly type: 'reasoning'; readonly delta: string }
  | { readonly type: 'tool_call'; readonly index: number; readonly id?: string; readonly name?: string; readonly argumentsDelta: string }
  | { readonly type: 'usage'; readonly promptTokens: number; readonly completionTokens: number }
  | { readonly type: 'done'; readonly finishReason: 'stop' | 'length' | 'tool_calls' | 'content_filter' }
  | { readonly type: 'error'; readonly message: string; readonly upstreamCode?: string; readonly status?: number }

/** The channel a call was routed to, with its decrypted key. */
export interface UpstreamTarget {
  readonly channelId: string
  readonly baseUrl: string
  readonly apiKey: string
  readonly settings: Readonly<Record<string, unknown>>
}

export interface ProviderCall {
  readonly target: UpstreamTarget
  /** Aborted when the client goes away or a timeout fires. */
  readonly signal: AbortSignal
  readonly log: Logger
  /** Stable id of the end user, for upstreams that track users (Coze `user_id`). */
  readonly userKey: string
}

/** A raw upstream response for same-format upstreams: bytes go to the client untouched. */
export interface PassthroughResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: AsyncIterable<Uint8Array>
}

/**
 * An upstream kind (`openai`, `coze`, ...). Translating providers implement `chat`; providers
 * whose upstream already speaks the OpenAI wire format may also implement `passthrough`, which
 * the pipeline prefers because it forwards bytes without re-encoding.
 *
 * @example
 * ctx.providers.register('echo', {
 *   async *chat(request) {
 *     yield { type: 'text', delta: String(request.messages.at(-1)?.content ?? '') }
 *     yield { type: 'done', finishReason: 'stop' }
 *   },
 * })
 */
export interface ChatProvider {
  /** JSON schema of the channel's provider-specific `settings`; the console renders a form from it. */
  readonly settingsSchema?: Readonly<Record<string, unknown>>
  /**
   * Top-level keys of `settings` that hold secrets (a private key, a PAT): the catalog seals
   * them like channel keys on save and shows only a masked hint afterwards.
   */
  readonly secretSettings?: readonly string[]
  chat(request: ChatRequest, call: ProviderCall): AsyncIterable<ChatEvent>
  passthrough?(path: '/chat/completions' | '/responses', body: Readonly<Record<string, unknown>>, call: ProviderCall): Promise<PassthroughResponse>
  listModels?(call: ProviderCall): Promise<string[]>
}
