import { sseData } from './sse.js'
import { ApiError, errorOf, loadSession, send, sessionJson, storeChatToken, storedChatToken } from './session.js'

/*
 * How the chat page talks to the gateway. A signed-in user uses the chat-token flow: the user's
 * `chat` token (POST /api/chat/token, kept in localStorage) on /v1/chat/completions with
 * `X-Parley-Chat: 1`, so the call is portal traffic; a 401 rotates the token and retries once.
 * A guest calls /api/chat/completions without credentials (with a guest pass, when a challenge
 * plugin asks for one).
 */

export interface ChatModel {
  readonly name: string
  readonly display_name?: string | null
  readonly reasoning?: boolean
  readonly vision?: boolean
  /** One of the user's own configs (My models): its `name` is `personal:<model_config_id>`. */
  readonly personal?: boolean
  readonly model_config_id?: number
}

/** A content part: text, or an image (a stored one as `parley-object://<key>`, chat-attach.ts). */
export type ContentPart =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'image_url'; readonly image_url: { readonly url: string } }

export interface ChatMessage {
  readonly role: 'user' | 'assistant' | 'system'
  readonly content: string | readonly ContentPart[]
}

/** A chat's own settings sent with each call: its sampling temperature, when the user set one. */
export interface ChatOptions {
  readonly temperature?: number
}

export interface Delta {
  readonly content?: string
  readonly reasoning?: string
}

/** Creates, or rotates, the chat token (the old one is revoked by the server). */
async function rotateChatToken(): Promise<string> {
  const { token } = await sessionJson<{ token: string }>('POST', '/api/chat/token')
  storeChatToken(token)
  return token
}

/** A request as the current caller; for a user, a 401 rotates the chat token and retries once. */
async function callAsCaller(path: (user: boolean) => string, init: RequestInit): Promise<Response> {
  if (!loadSession()) return send(path(false), withGuestPass(init))
  let token = storedChatToken() ?? (await rotateChatToken())
  for (let attempt = 0; ; attempt++) {
    const headers = new Headers(init.headers)
    headers.set('authorization', `Bearer ${token}`)
    headers.set('x-parley-chat', '1')
    const response = await send(path(true), { ...init, headers })
    if (response.status !== 401 || attempt > 0) return response
    token = await rotateChatToken()
  }
}

/**
 * Where a challenge plugin's page script (a portal partial) keeps the guest pass it bought with
 * `POST /api/auth/guest-pass`; guest calls carry it (docs/identity.md "Challenge hook").
 */
const GUEST_PASS_KEY = 'parley.guest_pass'

function withGuestPass(init: RequestInit): RequestInit {
  const pass = sessionStorage.getItem(GUEST_PASS_KEY)
  if (pass === null) return init
  const headers = new Headers(init.headers)
  headers.set('x-parley-guest-pass', pass)
  return { ...init, headers }
}

/** A JSON POST as the current caller (the chat token, or a guest), in the page's language. */
export async function callerJson<T>(path: string, body: unknown): Promise<T> {
  const response = await callAsCaller(() => path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'accept-language': document.documentElement.lang || 'en' },
    body: JSON.stringify(body),
  })
  if (!response.ok) throw await errorOf(response)
  return (await response.json()) as T
}

export async function listModels(): Promise<ChatModel[]> {
  const response = await callAsCaller(() => '/api/chat/models', { method: 'GET' })
  if (!response.ok) throw await errorOf(response)
  return ((await response.json()) as { items: ChatModel[] }).items
}

/** Streams one answer: content and reasoning deltas as they arrive. */
export async function* streamChat(
  model: string,
  messages: readonly ChatMessage[],
  signal: AbortSignal,
  options: ChatOptions = {},
): AsyncGenerator<Delta> {
  // A personal config goes to the portal's endpoint, which runs it for its owner only.
  const personal = /^personal:(\d+)$/.exec(model)?.[1]
  const extra = personal === undefined ? {} : { model_config_id: Number(personal) }
  const response = await callAsCaller(user => (user && !personal ? '/v1/chat/completions' : '/api/chat/completions'), {
    method: 'POST',
    // The page's language, not the browser's: a refusal reads in the language the dialog is in.
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      'accept-language': document.documentElement.lang || 'en',
    },
    body: JSON.stringify({ model, messages, stream: true, ...options, ...extra }),
    signal,
  })
  if (!response.ok || !response.body) throw await errorOf(response)
  yield* answerDeltas(response.body)
}

/**
 * The content and reasoning deltas of an answer in the OpenAI chat chunk format (SSE), until
 * `[DONE]`; an error event ends it with an `ApiError`. The chat page and server history
 * (conversations-api.ts) read their answers through it.
 */
export async function* answerDeltas(body: ReadableStream<Uint8Array>): AsyncGenerator<Delta> {
  for await (const data of sseData(body)) {
    if (data === '[DONE]') return
    let chunk: {
      error?: { type?: string; message?: string }
      choices?: Array<{ delta?: { content?: string | null; reasoning_content?: string | null } }>
    }
    try {
      chunk = JSON.parse(data) as typeof chunk
    } catch {
      continue // a comment or keep-alive we do not know
    }
    if (chunk.error)
      throw new ApiError(
        502,
        chunk.error.type ?? 'upstream_error',
        chunk.error.message ?? 'The stream ended with an error',
      )
    const delta = chunk.choices?.[0]?.delta
    if (!delta) continue
    const out: { content?: string; reasoning?: string } = {}
    if (typeof delta.content === 'string' && delta.content !== '') out.content = delta.content
    if (typeof delta.reasoning_content === 'string' && delta.reasoning_content !== '')
      out.reasoning = delta.reasoning_content
    if (out.content !== undefined || out.reasoning !== undefined) yield out
  }
}
