import { Readable } from 'node:stream'
import { requireUser, Type, type ObjectStorage } from '@parley/core'
import { AttachmentInput } from './attachments.js'
import { Ticket, TicketAttachment } from './entities.js'
import { errors } from './errors.js'
import type { TicketsContext } from './options.js'
import type { Author, Tickets } from './tickets.js'
import { IdParams, PageQuery, ThreadView, TicketPage, TicketView, ticketView } from './views.js'

const MessageBody = {
  body: Type.String({ minLength: 1 }),
  attachments: Type.Optional(Type.Array(AttachmentInput)),
}
const NewTicket = Type.Object(
  { subject: Type.String({ minLength: 1, maxLength: 200 }), ...MessageBody },
  { additionalProperties: false },
)
const Reply = Type.Object(MessageBody, { additionalProperties: false })

/** The owner's routes: signed-in users (sessions, not API tokens), each seeing only their own tickets. */
export function userRoutes(ctx: TicketsContext, tickets: Tickets, storage: ObjectStorage): void {
  const tags = ['tickets']
  const me = async (request: Parameters<typeof requireUser>[0]): Promise<Author> => {
    const user = await requireUser(request)
    return { role: 'user', userId: user.userId, name: user.name }
  }

  ctx.http.post(
    '/api/tickets',
    { schema: { tags, body: NewTicket, response: { 201: TicketView } } },
    async (request, reply) => {
      const { subject, ...first } = request.body
      return reply.code(201).send(ticketView(await tickets.open(await me(request), subject, first)))
    },
  )

  ctx.http.get(
    '/api/tickets',
    { schema: { tags, querystring: PageQuery, response: { 200: TicketPage } } },
    async request => {
      const { userId } = await me(request)
      const { page, page_size } = request.query
      const [rows, total] = await ctx.db
        .em()
        .findAndCount(
          Ticket,
          { userId },
          { orderBy: { updatedAt: 'desc', id: 'desc' }, limit: page_size, offset: (page - 1) * page_size },
        )
      return { items: rows.map(ticketView), total, page, page_size }
    },
  )

  ctx.http.get(
    '/api/tickets/unread',
    { schema: { tags, response: { 200: Type.Object({ count: Type.Integer() }) } } },
    async request => {
      const { userId } = await me(request)
      return { count: await ctx.db.em().count(Ticket, { userId, unread: true }) }
    },
  )

  ctx.http.get(
    '/api/tickets/:id',
    { schema: { tags, params: IdParams, response: { 200: ThreadView } } },
    async request => {
      const { userId } = await me(request)
      return tickets.thread(request.params.id, userId)
    },
  )

  ctx.http.post(
    '/api/tickets/:id/messages',
    { schema: { tags, params: IdParams, body: Reply, response: { 201: TicketView } } },
    async (request, reply) => {
      const ticket = await tickets.reply(request.params.id, await me(request), request.body)
      return reply.code(201).send(ticketView(ticket))
    },
  )

  ctx.http.post(
    '/api/tickets/:id/close',
    { schema: { tags, params: IdParams, response: { 200: TicketView } } },
    async request => {
      return ticketView(await tickets.close(request.params.id, await me(request)))
    },
  )

  const FileParams = Type.Object({ id: Type.Integer({ minimum: 1 }), file: Type.Integer({ minimum: 1 }) })
  ctx.http.get(
    '/api/tickets/:id/attachments/:file',
    { schema: { tags, params: FileParams } },
    async (request, reply) => {
      const author = await requireUser(request)
      const admin = author.kind === 'user' && (author.role === 'admin' || author.role === 'root')
      const em = ctx.db.em()
      // The owner, or an admin: anyone else gets the same 404 as for a ticket that does not exist.
      await tickets.find(em, request.params.id, admin ? undefined : author.userId)
      const file = await em.findOne(TicketAttachment, { id: request.params.file, ticketId: request.params.id })
      const object = file && (await storage.get(file.storageKey))
      if (!file || !object) throw errors.PARLEY_ERR_TICKETS_NOT_FOUND()
      return reply
        .header('content-type', file.contentType)
        .header('content-length', object.size)
        .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(file.filename)}`)
        .header('x-content-type-options', 'nosniff')
        .send(Readable.from(object.body))
    },
  )
}
