/**
 * What happens to stored images after their upload: a call that sends one marks it attached;
 * the hourly sweep deletes those never sent past the grace period (and nothing else); a
 * deleted conversation takes its images along. Objects and rows go together, checked in the
 * storage itself. In-process jobs on SQLite, BullMQ on Redis with MariaDB.
 */
import t, { type Test } from 'tap'
import { missingService, testServices, until } from '@parley/core/testing'
import { CONVERSATIONS_JOB, SWEEP_JOB, Upload } from '@parley/uploads'
import { boot, storedPng, uploadRows, type Booted } from './helpers.js'

const HOUR = 3_600_000

async function backdate(booted: Booted, key: string, hours: number): Promise<void> {
  await booted.gateway.db.em().nativeUpdate(Upload, { key }, { createdAt: new Date(Date.now() - hours * HOUR) })
}

async function stored(booted: Booted, keys: readonly string[]): Promise<string[]> {
  const present: string[] = []
  for (const key of keys) if (await booted.storage.head(key)) present.push(key)
  return present
}

async function lifecycle(t: Test, options: { mysqlUrl?: string; redisUrl?: string }) {
  const booted = await boot(t, {
    ...(options.mysqlUrl ? { mysqlUrl: options.mysqlUrl } : {}),
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
  })
  const { gateway } = booted
  const sent = await storedPng(booted, 'ada', 'c1')
  const oldUnsent = await storedPng(booted, 'ada', 'c1')
  const newUnsent = await storedPng(booted, 'ada', 'c1')
  const othersOld = await storedPng(booted, 'root', 'c1')
  const inDeleted = await storedPng(booted, 'ada', '41')
  const inKept = await storedPng(booted, 'ada', '42')
  const rootIn41 = await storedPng(booted, 'root', '41')
  const all = [sent, oldUnsent, newUnsent, othersOld, inDeleted, inKept, rootIn41]

  gateway.events.emit('objects.used', { owner: '2', keys: [sent, inDeleted, inKept] })
  gateway.events.emit('objects.used', { owner: '1', keys: [sent, rootIn41] })
  await until(
    async () => (await uploadRows(gateway)).filter(row => row.attached_at != null).length === 4,
    'four uploads marked attached',
  )
  const attached = (await uploadRows(gateway)).filter(row => row.attached_at != null).map(row => row.key)
  t.same(attached.sort(), [sent, inDeleted, inKept, rootIn41].sort(), "an owner's event marks its own keys only")

  for (const key of [sent, oldUnsent, othersOld, inDeleted, inKept, rootIn41]) await backdate(booted, key, 25)
  await gateway.jobs.enqueue(SWEEP_JOB, {})
  await until(async () => (await uploadRows(gateway)).length === 5, 'the sweep removed two rows')
  t.same(
    (await stored(booted, all)).sort(),
    all.filter(key => key !== oldUnsent && key !== othersOld).sort(),
    'the sweep deleted the old unsent images only',
  )

  gateway.events.emit('conversation.deleted', { owner: { kind: 'user', id: '2' }, ids: [41] })
  await until(async () => (await uploadRows(gateway)).length === 4, "the deleted conversation's image went")
  t.same(
    (await stored(booted, all)).sort(),
    [sent, newUnsent, inKept, rootIn41].sort(),
    "only ada's images of conversation 41; root's conversation 41 is another",
  )
  t.same(
    (await uploadRows(gateway)).map(row => row.key).sort(),
    [sent, newUnsent, inKept, rootIn41].sort(),
    'rows follow the objects',
  )
  t.ok(CONVERSATIONS_JOB.startsWith('uploads.'))
}

t.test('in-process jobs on SQLite', t => lifecycle(t, {}))

t.test('BullMQ on Redis, MariaDB', { skip: missingService('redis') || missingService('mysql') }, t =>
  lifecycle(t, { mysqlUrl: testServices.mysqlUrl as string, redisUrl: testServices.redisUrl as string }),
)
