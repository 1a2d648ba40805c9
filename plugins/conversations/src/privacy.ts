import { Type } from '@parley/core'
import { callerOf, type Conversations } from './context.js'
import type { ConversationOwner, MessageContent, StoredConversation, StoredMessage } from './service.js'
import type { ConversationStore } from './store.js'
import { conversationJson, ExportQuery, messageJson } from './views.js'

const tags = ['conversations']
const PAGE = 100

interface Exported {
  readonly conversation: StoredConversation
  readonly messages: readonly StoredMessage[]
}

/** Every conversation of one owner with its messages, newest first. */
async function* everything(store: ConversationStore, owner: ConversationOwner): AsyncGenerator<Exported> {
  for (let page = 1; ; page++) {
    const found = await store.list(
      { ownerKind: owner.kind, ownerId: owner.id, archived: 'include' },
      { page, pageSize: PAGE },
    )
    for (const conversation of found.items) yield { conversation, messages: await store.allMessages(conversation.id) }
    if (page * PAGE >= found.total) return
  }
}

function markdownOf(content: MessageContent): string {
  if (typeof content === 'string') return content
  return content.map(part => (part.type === 'text' ? part.text : `![image](${part.image_url.url})`)).join('\n\n')
}

const ROLE: Record<StoredMessage['role'], string> = { user: 'You', assistant: 'Assistant', system: 'System' }

export function toMarkdown(items: readonly Exported[], exportedAt: Date): string {
  const lines = [`# Conversations`, '', `Exported ${exportedAt.toISOString()}`, '']
  for (const { conversation, messages } of items) {
    lines.push(`## ${conversation.title || 'Untitled'}`, '')
    const model = conversation.model ?? `model config ${conversation.modelConfigId}`
    lines.push(`_${model} · ${conversation.createdAt.toISOString()}_`, '')
    for (const message of messages) {
      const status = message.status === 'completed' ? '' : ` (${message.status})`
      lines.push(`**${ROLE[message.role]}**${status} · ${message.createdAt.toISOString()}`, '')
      lines.push(markdownOf(message.content), '')
    }
  }
  return `${lines.join('\n').trimEnd()}\n`
}

/**
 * What a user can do with their own history (docs/conversations.md, Privacy): download all of it
 * (JSON or Markdown; stored images stay `parley-object://` references, URLs would expire) and
 * delete all of it. No route reads another user's conversations, admins included.
 */
export function installPrivacyRoutes(c: Conversations): void {
  c.http.get(
    '/api/conversations/export',
    {
      schema: {
        tags,
        summary: "Download all of the caller's conversations with their messages (JSON or Markdown)",
        querystring: ExportQuery,
      },
    },
    async (request, reply) => {
      const { owner } = await callerOf(request)
      const items: Exported[] = []
      for await (const item of everything(c.store, owner)) items.push(item)
      const now = new Date()
      const stamp = now.toISOString().slice(0, 10)
      reply.header('cache-control', 'no-store')
      if (request.query.format === 'markdown') {
        reply.header('content-disposition', `attachment; filename="conversations-${stamp}.md"`)
        return reply.type('text/markdown; charset=utf-8').send(toMarkdown(items, now))
      }
      reply.header('content-disposition', `attachment; filename="conversations-${stamp}.json"`)
      return {
        exported_at: now.toISOString(),
        conversations: items.map(({ conversation, messages }) => ({
          ...conversationJson(conversation),
          messages: messages.map(messageJson),
        })),
      }
    },
  )

  c.http.post(
    '/api/conversations/delete-all',
    {
      schema: {
        tags,
        summary: 'Delete every conversation of the caller, with their messages and images',
        querystring: Type.Object({}),
      },
    },
    async request => {
      const { owner } = await callerOf(request)
      return { deleted: await c.store.removeAll(owner) }
    },
  )
}
