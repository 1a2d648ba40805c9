import { Ticket } from './entities.js'
import type { TicketsContext } from './options.js'
import type { TicketSettings } from './settings.js'

export const IDLE_JOB = 'tickets.close-idle'
const BATCH = 500

/**
 * Closes answered tickets whose owner has been silent for `tickets.idle_days`, on the
 * `idle_cron` schedule (once per deployment with BullMQ). The owner sees them as unread.
 */
export function defineIdleJob(ctx: TicketsContext, settings: TicketSettings): void {
  ctx.jobs.define({
    name: IDLE_JOB,
    cron: ctx.options.idle_cron,
    attempts: 3,
    backoffMs: 60_000,
    async handler(run) {
      const before = new Date(Date.now() - settings.idleDays.get() * 24 * 3600 * 1000)
      let closed = 0
      for (;;) {
        const em = ctx.db.em()
        const idle = await em.find(Ticket, { status: 'answered', updatedAt: { $lt: before } }, { limit: BATCH })
        for (const ticket of idle) {
          ticket.status = 'closed'
          ticket.unread = true
        }
        await em.flush()
        closed += idle.length
        if (idle.length < BATCH) break
      }
      run.log.info({ closed }, 'idle tickets closed')
    },
  })
}
