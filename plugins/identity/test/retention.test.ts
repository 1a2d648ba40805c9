import { randomBytes, randomUUID } from 'node:crypto'
import t from 'tap'
import { RETENTION_JOB, type RetentionReport } from '@parley/core'
import identity from '@parley/identity'
import { createTestGateway, missingService, testServices, type TestGateway } from '@parley/core/testing'
import { RefreshToken } from '../src/entities.js'

// The daily retention job prunes refresh tokens that expired longer ago than log_retention_days.

const dialects = [
  { name: 'sqlite', skip: false as string | false, mysqlUrl: undefined as string | undefined },
  { name: 'mysql', skip: missingService('mysql'), mysqlUrl: testServices.mysqlUrl },
]
const DAY = 86_400_000

function runRetention(gateway: TestGateway): Promise<RetentionReport> {
  return new Promise((resolve, reject) => {
    const off = gateway.events.on('retention.finished', report => {
      off()
      resolve(report)
    })
    gateway.jobs.enqueue(RETENTION_JOB, {}).catch(reject)
  })
}

for (const dialect of dialects) {
  t.test(
    `${dialect.name}: expired refresh tokens are pruned after the retention period`,
    { skip: dialect.skip },
    async t => {
      const gateway = await createTestGateway({
        plugins: [identity],
        mysqlUrl: dialect.mysqlUrl,
        config: { admin: { username: 'admin', password: 'admin-password-0' } },
      })
      t.teardown(gateway.close)
      const registered = await gateway.inject({
        method: 'POST',
        url: '/api/auth/register',
        payload: {
          email: 'ada@example.com',
          username: 'ada',
          password: 'correct-horse-battery',
          password_confirm: 'correct-horse-battery',
        },
      })
      t.equal(registered.statusCode, 201)
      const { refresh_token, user } = registered.json()

      const now = Date.now()
      const em = gateway.db.em()
      const token = (expiresAt: number, revokedAt: number | null = null) =>
        em.create(RefreshToken, {
          tokenHash: randomBytes(32).toString('hex'),
          userId: user.id,
          familyId: randomUUID(),
          expiresAt: new Date(expiresAt),
          revokedAt: revokedAt === null ? null : new Date(revokedAt),
          createdAt: new Date(expiresAt - 30 * DAY),
        })
      const rows = {
        longExpired: token(now - 91 * DAY),
        longExpiredRevoked: token(now - 200 * DAY, now - 220 * DAY),
        recentlyExpired: token(now - 89 * DAY),
        revokedLive: token(now + 200 * DAY, now - 100 * DAY),
      }
      await em.flush()
      const ids = (await gateway.db.em().find(RefreshToken, {}, { orderBy: { id: 'asc' } })).map(row => row.id)
      t.equal(ids.length, 5, 'sanity: four seeded and the session of the sign-up')

      const report = await runRetention(gateway)
      t.match(report, { deleted: { 'identity/expired-refresh-tokens': 2 }, failed: [] })
      const left = (await gateway.db.em().find(RefreshToken, {}, { orderBy: { id: 'asc' } })).map(row => row.id)
      t.same(
        left,
        ids.filter(id => id !== rows.longExpired.id && id !== rows.longExpiredRevoked.id),
        'only tokens expired over 90 days ago went',
      )
      t.match(await runRetention(gateway), { deleted: { 'identity/expired-refresh-tokens': 0 } }, 'idempotent')

      const refreshed = await gateway.inject({ method: 'POST', url: '/api/auth/refresh', payload: { refresh_token } })
      t.equal(refreshed.statusCode, 200, 'a live session still refreshes')
    },
  )
}
