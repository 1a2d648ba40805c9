import type { TSchema } from '@sinclair/typebox'
import type { Dispatcher } from 'undici'
import type { Logger } from '../logger.js'
import type { UpstreamHttpRequest } from '../upstream/upstream-exchange.js'

/** A content part of a chat message: text, or an image by URL or data URL. */
export type ChatContentPart =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'image_url'; readonly image_url: { readonly url: string; readonly detail?: string } }

/** A chat message in OpenAI's shape, which is the gateway's normalized form. */
export interface ChatMessage {
  readonly role: 'system' | 'developer' | 'user' | 'assistant' | 'tool'
  readonly content: string | null | readonly ChatContentPart[]
  readonly name?: string
  readonly tool_call_id?: string
  readonly tool_calls?: readonly unknown[]
  readonly reasoning_content?: string
}

/** What a translating provider is asked: the conversation, already in the gateway's form. */
export interface ChatRequest {
  /** The upstream model name after alias resolution. */
  readonly model: string
  readonly messages: readonly ChatMessage[]
  /** Whether the client streams; a provider may stream internally either way. */
  readonly stream: boolean
  /** Everything else the client sent (temperature, tools, ...), for providers that understand it. */
  readonly parameters: Readonly<Record<string, unknown>>
}

/**
 * What a translating provider emits; the pipeline turns it into OpenAI chat chunks, a chat
 * completion, Responses API events or a response object, whichever the client asked for.
 * `usage` may come at any point (last wins); without it the pipeline estimates the tokens.
 */
export type ChatEvent =
  | { readonly type: 'text'; readonly delta: string }
  | { readonly type: 'reasoning'; readonly delta: string }
  | {
      readonly type: 'tool_call'
      readonly index: number
      readonly id?: string
      readonly name?: string
      readonly argumentsDelta: string
    }
  | { readonly type: 'usage'; readonly promptTokens: number; readonly completionTokens: number }
  | { readonly type: 'done'; readonly finishReason: 'stop' | 'length' | 'tool_calls' | 'content_filter' }
  | ChatErrorEvent

/**
 * The upstream failed. Before any output the pipeline may try another key or channel:
 * `retryable` (default: true for a missing status, 408, 429 and 5xx) says whether that helps.
 * `message` is shown to the client, so it must not quote secrets; `upstreamCode` goes to the log.
 */
export interface ChatErrorEvent {
  readonly type: 'error'
  readonly message: string
  readonly status?: number
  readonly upstreamCode?: string
  readonly retryable?: boolean
  /** The key itself is refused (revoked, out of quota): cool it down for longer. */
  readonly keyProblem?: boolean
}

/** The channel a call was routed to, with its key and settings opened. */
export interface UpstreamTarget {
  readonly channelId: number
  readonly channelName: string
  /** The channel's base URL, without a trailing slash. */
  readonly baseUrl: string
  /** The key for this attempt; '' when the channel has none (a provider that authenticates otherwise). */
  readonly apiKey: string
  readonly keyId: number | undefined
  /** Provider settings, secret ones opened (they live in memory only, never in a log). */
  readonly settings: Readonly<Record<string, unknown>>
}

export interface ProviderCall {
  readonly target: UpstreamTarget
  /** Aborted when the client goes away or a timeout fires; pass it to every upstream request. */
  readonly signal: AbortSignal
  readonly log: Logger
  /** Stable, opaque id of the end user, for upstreams that track users (Coze `user_id`). */
  readonly userKey: string
  /**
   * The dispatcher for upstream HTTP: keep-alive pools that connect only to addresses the SSRF
   * policy admits (checked at connect time, so DNS rebinding cannot switch them), the connect
   * timeout applied, redirects never followed. Use it for every request to the upstream.
   */
  readonly dispatcher: Dispatcher
}

/** The OpenAI endpoints a passthrough provider can serve, relative to the channel's base URL. */
export type PassthroughPath = '/chat/completions' | '/responses'

export interface PassthroughRequest {
  readonly path: PassthroughPath
  /** The client's body with the upstream model name (and `stream_options.include_usage` for streams). */
  readonly body: Readonly<Record<string, unknown>>
}

/** For upstreams that already speak the OpenAI wire format: bytes pass through untouched. */
export interface Passthrough {
  /** Whether this channel's upstream serves `path` itself; otherwise the pipeline translates through `chat`. */
  supports(path: PassthroughPath, target: UpstreamTarget): boolean
  /** Where and with which headers `request` goes; the pipeline sends it and reads the answer. */
  prepare(request: PassthroughRequest, target: UpstreamTarget): UpstreamHttpRequest
}

/**
 * An upstream kind (`openai`, `coze`, ...). Every provider implements `chat` (translating: it
 * emits normalized events). Providers whose upstream speaks the OpenAI wire format also
 * implement `passthrough`, which the pipeline prefers because it forwards bytes unchanged.
 *
 * @example
 * ctx.providers.register('echo', {
 *   async *chat(request) {
 *     const last = request.messages.at(-1)?.content
 *     yield { type: 'text', delta: typeof last === 'string' ? last : '' }
 *     yield { type: 'done', finishReason: 'stop' }
 *   },
 * })
 */
export interface ChatProvider {
  /**
   * TypeBox schema of the channel's provider-specific `settings`: checked (defaults filled) when a
   * channel is saved, and the console renders a form from it. Secret settings must be optional
   * strings: an update that leaves one out keeps the stored value.
   */
  readonly settingsSchema?: TSchema
  /**
   * Top-level keys of `settings` that hold secrets (a private key, a PAT): the catalog seals
   * them like channel keys on save and shows only a masked hint afterwards.
   */
  readonly secretSettings?: readonly string[]
  chat(request: ChatRequest, call: ProviderCall): AsyncIterable<ChatEvent>
  readonly passthrough?: Passthrough
  /** The model ids the upstream offers; the channel test uses it when no model is bound. */
  listModels?(call: ProviderCall): Promise<string[]>
}

export type { UpstreamHttpRequest }
