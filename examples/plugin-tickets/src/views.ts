import { Type } from '@parley/core'
import type { Ticket, TicketAttachment, TicketMessage } from './entities.js'

/** The JSON shapes of the API (snake_case), as TypeBox schemas for the routes' documentation. */
export const TicketView = Type.Object({
  id: Type.Integer(),
  subject: Type.String(),
  status: Type.Union([Type.Literal('open'), Type.Literal('answered'), Type.Literal('closed')]),
  unread: Type.Boolean({ description: 'An admin answered or closed it since the owner last opened it' }),
  user_name: Type.String(),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
})

export const MessageView = Type.Object({
  id: Type.Integer(),
  author: Type.Union([Type.Literal('user'), Type.Literal('admin')]),
  author_name: Type.String(),
  body: Type.String(),
  created_at: Type.String({ format: 'date-time' }),
  attachments: Type.Array(
    Type.Object({ id: Type.Integer(), filename: Type.String(), content_type: Type.String(), size: Type.Integer() }),
  ),
})

export const ThreadView = Type.Composite([TicketView, Type.Object({ messages: Type.Array(MessageView) })])

export const TicketPage = Type.Object({
  items: Type.Array(TicketView),
  total: Type.Integer(),
  page: Type.Integer(),
  page_size: Type.Integer(),
})

export const PageQuery = Type.Object(
  {
    page: Type.Integer({ minimum: 1, default: 1 }),
    page_size: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  },
  { additionalProperties: false },
)

export const IdParams = Type.Object({ id: Type.Integer({ minimum: 1 }) })

export function ticketView(ticket: Ticket) {
  return {
    id: ticket.id,
    subject: ticket.subject,
    status: ticket.status as 'open' | 'answered' | 'closed',
    unread: ticket.unread,
    user_name: ticket.userName,
    created_at: ticket.createdAt.toISOString(),
    updated_at: ticket.updatedAt.toISOString(),
  }
}

export function threadView(ticket: Ticket, messages: readonly TicketMessage[], files: readonly TicketAttachment[]) {
  return {
    ...ticketView(ticket),
    messages: messages.map(message => ({
      id: message.id,
      author: message.author as 'user' | 'admin',
      author_name: message.authorName,
      body: message.body,
      created_at: message.createdAt.toISOString(),
      attachments: files
        .filter(file => file.messageId === message.id)
        .map(file => ({ id: file.id, filename: file.filename, content_type: file.contentType, size: file.size })),
    })),
  }
}
