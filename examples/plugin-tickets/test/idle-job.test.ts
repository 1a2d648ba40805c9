import t from 'tap'
import { missingService, testServices, until } from '@parley/core/testing'
import { IDLE_JOB } from '../src/idle-job.js'
import { ada, admin, boot, rows } from './helpers.js'

// In the process, and on BullMQ (Redis), where the cron schedule exists once per deployment.
for (const jobs of ['in-process', 'bullmq'] as const) {
  const skip = jobs === 'bullmq' ? missingService('redis') : false
  t.test(
    `${jobs}: the idle job closes answered tickets older than tickets.idle_days, and only those`,
    { skip },
    async t => {
      const gateway = await boot(t, 'sqlite', {}, jobs === 'bullmq' ? testServices.redisUrl : undefined)
      t.equal(gateway.jobs.kind, jobs)
      const open = async (subject: string) =>
        (
          await gateway.inject({ method: 'POST', url: '/api/tickets', headers: ada, payload: { subject, body: 'b' } })
        ).json().id as number
      const stale = await open('stale')
      const fresh = await open('fresh')
      const waiting = await open('waiting for an admin')
      for (const id of [stale, fresh])
        await gateway.inject({
          method: 'POST',
          url: `/api/admin/tickets/${id}/messages`,
          headers: admin,
          payload: { body: 'a' },
        })
      await gateway.inject({ url: `/api/tickets/${stale}`, headers: ada })
      const old = new Date(Date.now() - 15 * 24 * 3600 * 1000)
      await gateway.db
        .em()
        .getConnection()
        .execute('update tickets_tickets set updated_at = ? where id in (?, ?)', [old, stale, waiting])

      await gateway.jobs.enqueue(IDLE_JOB, {})
      await until(async () => {
        const status = (await rows(gateway, 'tickets_tickets')) as { id: number; status: string; unread: unknown }[]
        return status.find(row => row.id === stale)?.status === 'closed'
      }, 'the stale ticket closed')
      const list = (await gateway.inject({ url: '/api/tickets', headers: ada })).json().items as {
        id: number
        status: string
        unread: boolean
      }[]
      t.match(
        list.find(ticket => ticket.id === stale),
        { status: 'closed', unread: true },
        'closed, and ada is told',
      )
      t.match(
        list.find(ticket => ticket.id === fresh),
        { status: 'answered' },
        'answered recently: kept',
      )
      t.match(
        list.find(ticket => ticket.id === waiting),
        { status: 'open' },
        'waiting for an admin: never closed by the job',
      )
    },
  )
}
