import { definePlugin, TOKENS, type ObjectStorage } from '@parley/core'
import { adminRoutes } from './admin-routes.js'
import { Ticket, TicketAttachment, TicketMessage } from './entities.js'
import { defineIdleJob } from './idle-job.js'
import { ticketsMigrations } from './migrations/index.js'
import { TicketOptions } from './options.js'
import { defineTicketSettings } from './settings.js'
import { Tickets } from './tickets.js'
import { registerUi } from './ui.js'
import { userRoutes } from './user-routes.js'

/** Support tickets (examples/plugin-tickets/README.md): users ask, admins answer, idle ones close. */
export default definePlugin({
  id: 'tickets',
  version: '0.1.0',
  core: '^0.1.0',
  description: 'Support tickets with attachments: a portal page, a console section, limits and an idle-closing job',
  options: TicketOptions,
  setup(ctx) {
    ctx.db.entities([Ticket, TicketMessage, TicketAttachment])
    ctx.db.migrations(ticketsMigrations)
    const settings = defineTicketSettings(ctx)
    const storage = ctx.container.resolve<ObjectStorage>(TOKENS.storage)
    const tickets = new Tickets(() => ctx.db.em(), storage, settings, ctx.options, ctx.events)
    userRoutes(ctx, tickets, storage)
    adminRoutes(ctx, tickets)
    defineIdleJob(ctx, settings)
    registerUi(ctx)
  },
})
