import type { FastifyReply, FastifyRequest } from '@parley/core'
import { callerOf, checkObjects, readable, type Conversations } from '../context.js'
import { conversationErrors } from '../errors.js'
import type { Ask } from '../sender.js'
import type { MessageContent } from '../service.js'
import {
  conversationJson,
  IdParams,
  MessageParams,
  MessagesQuery,
  messageJson,
  RepeatBody,
  SendBody,
} from '../views.js'

const tags = ['conversations']

/**
 * A conversation's messages, and the sends: a new question, the last question answered again
 * (regenerate), the last question edited and sent again. Each answers like
 * `POST /v1/chat/completions` (SSE chunks, or JSON with `stream: false`); the stored answer's id
 * is in the `X-Parley-Message-Id` header.
 */
export function installMessageRoutes(c: Conversations): void {
  c.http.get(
    '/api/conversations/:id/messages',
    {
      schema: {
        tags,
        summary: 'The messages of a conversation, oldest first; images as short-lived URLs',
        params: IdParams,
        querystring: MessagesQuery,
      },
    },
    async request => {
      const { owner, principal } = await callerOf(request)
      const { page, page_size, images } = request.query
      const found = await c.store.messages(owner, request.params.id, { page, pageSize: page_size })
      const items =
        images === 'refs'
          ? found.items
          : await Promise.all(found.items.map(message => readable(c.objects(), principal, message, request.log)))
      return { items: items.map(messageJson), total: found.total, page, page_size }
    },
  )

  c.http.post(
    '/api/conversations/:id/messages',
    {
      schema: {
        tags,
        summary: 'Send a question; the answer streams as OpenAI chat chunks (JSON with stream: false)',
        params: IdParams,
        body: SendBody,
      },
    },
    sendWith(c, request => ({ kind: 'send', content: bodyOf(request).content as MessageContent })),
  )

  c.http.post(
    '/api/conversations/:id/regenerate',
    {
      schema: {
        tags,
        summary: 'Answer the last question again; the answers after it are replaced',
        params: IdParams,
        body: RepeatBody,
      },
    },
    sendWith(c, () => ({ kind: 'regenerate' })),
  )

  c.http.post(
    '/api/conversations/:id/messages/:message_id/edit',
    {
      schema: {
        tags,
        summary: 'Replace the last question with new content and answer it; what followed it goes',
        params: MessageParams,
        body: SendBody,
      },
    },
    sendWith(c, request => ({
      kind: 'edit',
      messageId: (request.params as { message_id: number }).message_id,
      content: bodyOf(request).content as MessageContent,
    })),
  )

  c.http.post(
    '/api/conversations/:id/title',
    {
      schema: {
        tags,
        summary: 'Ask the title model for a new title now; the conversation as it is then',
        params: IdParams,
      },
    },
    async request => {
      const { owner, principal } = await callerOf(request)
      const conversation = await c.store.find(owner, request.params.id)
      if (!conversation) throw conversationErrors.PARLEY_ERR_CONVERSATION_NOT_FOUND({ id: request.params.id })
      try {
        const title = await c.titles.generate(conversation, principal, request.parley.ip, request.log)
        if (title !== '')
          await c.store.retitle(conversation.id, title, 'generated', ['none', 'question', 'generated', 'user'])
      } catch (error) {
        // The title stays as it was: a failed title is never the caller's error.
        request.log.warn({ err: error, conversation_id: conversation.id }, 'no new title')
      }
      return conversationJson((await c.store.find(owner, conversation.id)) ?? conversation)
    },
  )
}

function bodyOf(request: FastifyRequest): { content?: unknown; stream?: boolean } {
  return (request.body ?? {}) as { content?: unknown; stream?: boolean }
}

/** A send's handler: the caller's own conversation, their own images, then the sender. */
function sendWith(c: Conversations, ask: (request: FastifyRequest) => Ask) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const { owner, principal } = await callerOf(request)
    const what = ask(request)
    if (what.kind !== 'regenerate') checkObjects(c.objects(), principal, what.content)
    return c.sender.reply(request, reply, {
      owner,
      principal,
      conversationId: (request.params as { id: number }).id,
      ip: request.parley.ip,
      stream: bodyOf(request).stream !== false,
      ask: what,
    })
  }
}
