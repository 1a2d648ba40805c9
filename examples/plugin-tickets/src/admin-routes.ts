import { requireRole, Type } from '@parley/core'
import { Ticket } from './entities.js'
import type { TicketsContext } from './options.js'
import type { Author, Tickets } from './tickets.js'
import { IdParams, PageQuery, ThreadView, TicketPage, TicketView, ticketView } from './views.js'

const ListQuery = Type.Composite(
  [
    PageQuery,
    Type.Object({
      status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('answered'), Type.Literal('closed')])),
    }),
  ],
  { additionalProperties: false },
)
const Answer = Type.Object({ body: Type.String({ minLength: 1 }) }, { additionalProperties: false })

/** The console's routes: root and admin only, over every user's tickets. */
export function adminRoutes(ctx: TicketsContext, tickets: Tickets): void {
  const tags = ['tickets (admin)']
  const admin = async (request: Parameters<typeof requireRole>[0]): Promise<Author> => {
    const user = await requireRole(request, 'admin', 'root')
    return { role: 'admin', userId: user.userId, name: user.name }
  }

  ctx.http.get(
    '/api/admin/tickets',
    { schema: { tags, querystring: ListQuery, response: { 200: TicketPage } } },
    async request => {
      await admin(request)
      const { page, page_size, status } = request.query
      const [rows, total] = await ctx.db.em().findAndCount(Ticket, status ? { status } : {}, {
        orderBy: { updatedAt: 'desc', id: 'desc' },
        limit: page_size,
        offset: (page - 1) * page_size,
      })
      return { items: rows.map(ticketView), total, page, page_size }
    },
  )

  ctx.http.get(
    '/api/admin/tickets/:id',
    { schema: { tags, params: IdParams, response: { 200: ThreadView } } },
    async request => {
      await admin(request)
      return tickets.thread(request.params.id, undefined)
    },
  )

  ctx.http.post(
    '/api/admin/tickets/:id/messages',
    { schema: { tags, params: IdParams, body: Answer, response: { 201: TicketView } } },
    async (request, reply) => {
      const ticket = await tickets.reply(request.params.id, await admin(request), request.body)
      return reply.code(201).send(ticketView(ticket))
    },
  )

  ctx.http.post(
    '/api/admin/tickets/:id/close',
    { schema: { tags, params: IdParams, response: { 200: TicketView } } },
    async request => {
      return ticketView(await tickets.close(request.params.id, await admin(request)))
    },
  )
}
