import { type EntityManager, type HttpScope } from '@parley/core'
import { adminOnly, IdParams, PageQuery, security } from './admin-schemas.js'
import { WidgetClient } from './entities.js'
import { widgetErrors } from './errors.js'
import type { StoredConversation, TranscriptStore } from './transcripts.js'

/** Messages read per page while exporting: the export never holds a client's whole history. */
const EXPORT_PAGE = 100

/**
 * An admin's view of a client's transcripts: `GET …/:id/transcripts` lists its users'
 * conversations; `GET …/:id/transcripts/export` streams every message as JSON lines.
 * Without the conversations plugin both answer 404 `transcripts_unavailable`.
 */
export function installTranscriptRoutes(
  http: HttpScope,
  deps: { em: () => EntityManager; store: () => TranscriptStore | undefined },
): void {
  const base = '/api/admin/widget-clients/:id/transcripts'
  const tags = ['admin', 'widget']
  const prepare = async (id: number) => {
    const row = await deps.em().findOne(WidgetClient, { id })
    if (!row) throw widgetErrors.PARLEY_ERR_WIDGET_CLIENT_NOT_FOUND({ id })
    const store = deps.store()
    if (!store) throw widgetErrors.PARLEY_ERR_WIDGET_TRANSCRIPTS_UNAVAILABLE()
    return { store, prefix: `${row.clientId}:` }
  }

  http.get(
    base,
    {
      onRequest: adminOnly,
      schema: { tags, security, summary: "A widget client's transcripts", params: IdParams, querystring: PageQuery },
    },
    async request => {
      const { store, prefix } = await prepare(request.params.id)
      const { page, page_size } = request.query
      const found = await store.list({ ownerKind: 'widget', ownerIdPrefix: prefix }, { page, pageSize: page_size })
      return { items: found.items.map(item => conversationWire(item, prefix)), total: found.total, page, page_size }
    },
  )

  http.get(
    `${base}/export`,
    {
      onRequest: adminOnly,
      schema: { tags, security, summary: 'Every transcript message as JSON lines', params: IdParams },
    },
    async (request, reply) => {
      const { store, prefix } = await prepare(request.params.id)
      reply.hijack()
      const res = reply.raw
      res.writeHead(200, {
        ...(reply.getHeaders() as Record<string, string>),
        'content-type': 'application/x-ndjson; charset=utf-8',
        'content-disposition': `attachment; filename="widget-${request.params.id}-transcripts.jsonl"`,
        'cache-control': 'no-store',
      })
      try {
        for (let page = 1; ; page++) {
          const conversations = await store.list(
            { ownerKind: 'widget', ownerIdPrefix: prefix },
            { page, pageSize: EXPORT_PAGE },
          )
          for (const conversation of conversations.items) {
            const owner = { kind: 'widget' as const, id: conversation.owner.id }
            for (let at = 1; ; at++) {
              const messages = await store.messages(owner, conversation.id, { page: at, pageSize: EXPORT_PAGE })
              for (const message of messages.items)
                res.write(
                  `${JSON.stringify({
                    conversation_id: conversation.id,
                    external_user_id: conversation.owner.id.slice(prefix.length),
                    message_id: message.id,
                    role: message.role,
                    content: message.content,
                    status: message.status,
                    created_at: message.createdAt.toISOString(),
                  })}\n`,
                )
              if (at * EXPORT_PAGE >= messages.total) break
            }
          }
          if (page * EXPORT_PAGE >= conversations.total) break
        }
      } catch (error) {
        request.log.warn({ err: error }, 'widget transcript export broke off')
      }
      res.end()
    },
  )
}

function conversationWire(conversation: StoredConversation, prefix: string) {
  return {
    id: conversation.id,
    external_user_id: conversation.owner.id.slice(prefix.length),
    title: conversation.title,
    created_at: conversation.createdAt.toISOString(),
    updated_at: conversation.updatedAt.toISOString(),
  }
}
