import websocket from '@fastify/websocket'
import type { WebSocket } from 'ws'
import { ParleyError, SseSplitter, languageOf, type FastifyRequest, type Principal } from '@parley/core'
import { callerOf, checkObjects, type Conversations } from './context.js'
import type { Ask } from './sender.js'
import type { ConversationOwner, MessageContent } from './service.js'

/** The subprotocol a client names (browsers cannot send an Authorization header on an upgrade). */
export const WS_PROTOCOL = 'parley.chat.v1'
/** Unanswered bytes in the socket's buffer before a client counts as too slow and is closed. */
const MAX_BUFFERED = 1 << 20
const PING_EVERY_MS = 30_000
const MAX_FRAME = 8 << 20

interface Caller {
  readonly principal: Principal
  readonly owner: ConversationOwner
}

type Incoming =
  | { type: 'send'; ref?: string; conversation_id: number; content: MessageContent }
  | { type: 'regenerate'; ref?: string; conversation_id: number }
  | { type: 'edit'; ref?: string; conversation_id: number; message_id: number; content: MessageContent }
  | { type: 'stop'; conversation_id: number }
  | { type: 'ping' }

const callers = new WeakMap<FastifyRequest, Caller>()

/**
 * `GET /api/chat/ws` (docs/conversations.md#websocket): the same sends as the HTTP routes, over
 * one socket. Authenticated on the upgrade (an `Authorization` header, or the token as the
 * subprotocol `bearer.<token>` next to `parley.chat.v1`); each answer runs detached from the
 * socket through `chat.detached` and stops when the client says `stop` or the socket closes.
 */
export async function installWebSocket(c: Conversations): Promise<void> {
  await c.http.register(websocket, {
    options: {
      maxPayload: MAX_FRAME,
      handleProtocols: protocols => (protocols.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
    },
  })
  c.http.get(
    '/api/chat/ws',
    {
      websocket: true,
      preValidation: async request => {
        const offered = String(request.headers['sec-websocket-protocol'] ?? '')
        const bearer = offered
          .split(',')
          .map(protocol => protocol.trim())
          .find(protocol => protocol.startsWith('bearer.'))
        if (bearer && !request.headers.authorization) request.headers.authorization = `Bearer ${bearer.slice(7)}`
        callers.set(request, await callerOf(request))
      },
    },
    (socket, request) => serve(c, socket, request, callers.get(request) as Caller),
  )
}

function serve(c: Conversations, socket: WebSocket, request: FastifyRequest, caller: Caller): void {
  const running = new Map<number, AbortController>()
  const language = languageOf(request.headers['accept-language'])
  let calls = 0
  let alive = true
  const say = (message: Record<string, unknown>) => {
    if (socket.readyState !== socket.OPEN) return
    if (socket.bufferedAmount > MAX_BUFFERED) {
      // Back-pressure: the data plane does not wait for a socket, so a client this far behind is
      // closed, and its answers stop now (the close handshake may wait for a reader that is gone).
      for (const stop of running.values()) stop.abort()
      socket.close(1013, 'client too slow')
      return
    }
    socket.send(JSON.stringify(message))
  }
  const fail = (error: unknown, extra: Record<string, unknown> = {}) => {
    const known = error instanceof ParleyError
    if (!known) request.log.error({ err: error }, 'a WebSocket message failed')
    say({
      type: 'error',
      ...extra,
      error: known
        ? { type: error.type, message: error.localized(language), code: error.code, ...(error.details ?? {}) }
        : { type: 'internal_error', message: `Internal error (request ${request.id})` },
    })
  }
  const ping = setInterval(() => {
    if (!alive) return void socket.terminate()
    alive = false
    socket.ping()
  }, PING_EVERY_MS)
  socket.on('pong', () => (alive = true))
  socket.on('close', () => {
    clearInterval(ping)
    for (const stop of running.values()) stop.abort()
  })
  socket.on('message', (data, binary) => {
    alive = true
    let message: Incoming
    try {
      if (binary) throw new Error('binary')
      message = JSON.parse(String(data)) as Incoming
    } catch {
      return say({
        type: 'error',
        error: { type: 'invalid_request', message: 'Each message must be a JSON text frame' },
      })
    }
    const problem = invalid(message)
    if (problem) return say({ type: 'error', error: { type: 'invalid_request', message: problem } })
    if (message.type === 'ping') return say({ type: 'pong' })
    if (message.type === 'stop') {
      running.get(message.conversation_id)?.abort()
      return
    }
    const ref = message.ref
    const ask: Ask =
      message.type === 'send'
        ? { kind: 'send', content: message.content }
        : message.type === 'edit'
          ? { kind: 'edit', messageId: message.message_id, content: message.content }
          : { kind: 'regenerate' }
    const conversationId = message.conversation_id
    void exchange(conversationId, ask, ref ?? null).catch(error =>
      fail(error, { ref: ref ?? null, conversation_id: conversationId }),
    )
  })

  async function exchange(conversationId: number, ask: Ask, ref: string | null): Promise<void> {
    if (ask.kind !== 'regenerate') checkObjects(c.objects(), caller.principal, ask.content)
    const stop = new AbortController()
    const prepared = await c.sender.prepare(
      { ...caller, conversationId, ip: request.parley.ip, stream: true, ask },
      () => stop.abort(),
    )
    running.set(conversationId, stop)
    const ids = { ref, conversation_id: conversationId, message_id: prepared.answer.id }
    say({ type: 'started', ...ids, question_id: prepared.question.id })
    const splitter = new SseSplitter()
    const encoder = new TextEncoder()
    try {
      await c.chat().detached(request, {
        ...prepared.call,
        signal: stop.signal,
        requestId: `${request.id}-${++calls}`,
        startedAt: process.hrtime.bigint(),
        sink: {
          write: piece => {
            for (const event of splitter.push(encoder.encode(piece))) {
              if (event.data === '' || event.data === '[DONE]') continue
              let chunk: Record<string, unknown>
              try {
                chunk = JSON.parse(event.data) as Record<string, unknown>
              } catch {
                continue // not a chunk of the format (a comment the pipeline never sends today)
              }
              say(chunk.error ? { type: 'error', ...ids, error: chunk.error } : { type: 'chunk', ...ids, data: chunk })
            }
          },
          end: () => undefined,
        },
      })
    } catch (error) {
      await prepared.refused(error)
      throw error
    } finally {
      running.delete(conversationId)
    }
    // Sent once the answer's row says how it ended: a client that reads the messages then sees it.
    say({ type: 'end', ...ids, status: await prepared.finished })
  }
}

/** Why a client message does not fit the schema (docs/conversations.md#websocket), or undefined. */
function invalid(message: Incoming): string | undefined {
  if (typeof message !== 'object' || message === null) return 'A message is a JSON object'
  if (message.type === 'ping') return undefined
  const ref = (message as { ref?: unknown }).ref
  if (ref !== undefined && (typeof ref !== 'string' || ref.length > 100))
    return 'ref must be a string of at most 100 characters'
  const id = (message as { conversation_id?: unknown }).conversation_id
  if (!Number.isSafeInteger(id) || (id as number) < 1) return 'conversation_id must be a positive integer'
  if (message.type === 'stop' || message.type === 'regenerate') return undefined
  if (message.type !== 'send' && message.type !== 'edit') return 'type must be send, regenerate, edit, stop or ping'
  if (message.type === 'edit' && (!Number.isSafeInteger(message.message_id) || message.message_id < 1))
    return 'message_id must be a positive integer'
  const content = message.content as unknown
  const ok =
    (typeof content === 'string' && content.length > 0) ||
    (Array.isArray(content) &&
      content.length > 0 &&
      content.length <= 20 &&
      content.every(
        part =>
          (part?.type === 'text' && typeof part.text === 'string') ||
          (part?.type === 'image_url' &&
            /^(parley-object:\/\/|https:\/\/|data:image\/)/.test(String(part.image_url?.url))),
      ))
  return ok ? undefined : 'content must be a non-empty string or 1 to 20 text and image_url parts'
}
