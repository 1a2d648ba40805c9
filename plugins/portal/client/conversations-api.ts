import { answerDeltas, type Delta } from './chat-api.js'
import { OBJECT_PREFIX } from './chat-images.js'
import { ApiError, errorOf, loadSession, send, sessionJson } from './session.js'

/*
 * The conversations plugin's API (docs/conversations.md) for the chat page in `server` history
 * mode: the signed-in user's stored conversations, their messages, and sends that stream the
 * answer while the server stores it.
 */

export interface ServerConversation {
  readonly id: number
  title: string
  title_source: 'none' | 'question' | 'generated' | 'user'
  readonly model: string | null
  readonly model_config_id: number | null
  /** Out of the main list (it shows under "Archived"); its messages stay and it can be continued. */
  archived: boolean
  readonly updated_at: string
}

export type ContentPart =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'image_url'; readonly image_url: { readonly url: string } }

export interface ServerMessage {
  readonly id: number
  readonly role: 'user' | 'assistant' | 'system'
  readonly content: string | readonly ContentPart[]
  readonly status: 'in_progress' | 'completed' | 'failed' | 'stopped'
  readonly error_type: string | null
}

interface Page<T> {
  readonly items: T[]
  readonly total: number
}

export const PAGE_SIZE = 30

/** The active conversations, or (`archived`) the archived ones. */
export function listConversations(q: string, page: number, archived = false): Promise<Page<ServerConversation>> {
  const query = new URLSearchParams({ page: String(page), page_size: String(PAGE_SIZE) })
  if (q !== '') query.set('q', q)
  if (archived) query.set('archived', 'true')
  return sessionJson('GET', `/api/conversations?${query}`)
}

export function getConversation(id: number): Promise<ServerConversation> {
  return sessionJson('GET', `/api/conversations/${id}`)
}

/** A model of the picker: a catalog name, or `personal:<id>` for one of the user's own configs. */
export function createConversation(model: string): Promise<ServerConversation> {
  const personal = /^personal:(\d+)$/.exec(model)?.[1]
  return sessionJson('POST', '/api/conversations', personal ? { model_config_id: Number(personal) } : { model })
}

export function renameConversation(id: number, title: string): Promise<ServerConversation> {
  return sessionJson('PUT', `/api/conversations/${id}`, { title })
}

/** Takes a conversation out of the list (`true`) or brings it back (`false`). */
export function archiveConversation(id: number, archived: boolean): Promise<ServerConversation> {
  return sessionJson('PUT', `/api/conversations/${id}`, { archived })
}

export function deleteConversations(ids: readonly number[]): Promise<{ deleted: number }> {
  return sessionJson('POST', '/api/conversations/delete', { ids })
}

export function deleteAllConversations(): Promise<{ deleted: number }> {
  return sessionJson('POST', '/api/conversations/delete-all')
}

/** Every message of a conversation, oldest first; images as their stored references. */
export async function allMessages(id: number): Promise<ServerMessage[]> {
  const messages: ServerMessage[] = []
  for (let page = 1; ; page++) {
    const found = await sessionJson<Page<ServerMessage>>(
      'GET',
      `/api/conversations/${id}/messages?images=refs&page_size=100&page=${page}`,
    )
    messages.push(...found.items)
    if (messages.length >= found.total || found.items.length === 0) return messages
  }
}

/** The text of a stored message (its images left out). */
export function textOf(content: ServerMessage['content']): string {
  if (typeof content === 'string') return content
  return content
    .map(part => (part.type === 'text' ? part.text : ''))
    .filter(Boolean)
    .join('\n\n')
}

/** The keys of a message's stored images (read with `images=refs`). */
export function imagesIn(content: ServerMessage['content']): string[] | undefined {
  if (typeof content === 'string') return undefined
  const keys = content.flatMap(part =>
    part.type === 'image_url' && part.image_url.url.startsWith(OBJECT_PREFIX)
      ? [part.image_url.url.slice(OBJECT_PREFIX.length)]
      : [],
  )
  return keys.length > 0 ? keys : undefined
}

/** The picker's name for a conversation's model. */
export function modelOf(conversation: ServerConversation): string {
  return conversation.model_config_id !== null ? `personal:${conversation.model_config_id}` : (conversation.model ?? '')
}

export type Send =
  | { readonly kind: 'send'; readonly content: string | ContentPart[] }
  | { readonly kind: 'regenerate' }
  | { readonly kind: 'edit'; readonly messageId: number; readonly content: string | ContentPart[] }

/** Streams the answer of one send; the server stores the question and the answer as they go. */
export async function* streamSend(id: number, what: Send, signal: AbortSignal): AsyncGenerator<Delta> {
  const path =
    what.kind === 'send'
      ? `/api/conversations/${id}/messages`
      : what.kind === 'regenerate'
        ? `/api/conversations/${id}/regenerate`
        : `/api/conversations/${id}/messages/${what.messageId}/edit`
  const body = JSON.stringify(what.kind === 'regenerate' ? { stream: true } : { content: what.content, stream: true })
  let response: Response | undefined
  for (let attempt = 0; attempt < 2; attempt++) {
    // A cheap authenticated read first refreshes an expired access token (sessionJson does).
    if (attempt > 0) await getConversation(id)
    const session = loadSession()
    if (!session) throw new ApiError(401, 'session_required', 'Sign in first')
    response = await send(path, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${session.access_token}`,
        'content-type': 'application/json',
        accept: 'text/event-stream',
        'accept-language': document.documentElement.lang || 'en',
      },
      body,
      signal,
    })
    if (response.status !== 401) break
  }
  if (!response?.ok || !response.body) throw await errorOf(response as Response)
  yield* answerDeltas(response.body)
}
