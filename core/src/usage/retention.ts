import type { EntityManager } from '@mikro-orm/core'
import { deleteInBatches } from '../retention/batches.js'
import type { RetentionContext, RetentionTask } from '../retention/task.js'
import { UsageLog, UsageRollup, UsageUserActivity } from './entities.js'
import { BUCKET_MS, bucketOf } from './rollups.js'

/** Rollup rows go a day of buckets per statement: a few hundred rows, however many models. */
const ROLLUP_BUCKETS_PER_DELETE = 96

/**
 * Usage rows older than the retention cut-off, with their rollups and the last calls of users
 * who have no row left. The cut-off is moved back to the start of its quarter hour, so rows and
 * rollup buckets always go together and the stats keep equalling the rows; the few rows of that
 * quarter hour go on the next day's run.
 */
export function usageRetentionTask(em: () => EntityManager): RetentionTask {
  return {
    async prune(context: RetentionContext): Promise<number> {
      const bucket = bucketOf(context.before)
      const cutoff = new Date(bucket * BUCKET_MS)
      const rows = await deleteInBatches(
        em,
        { entity: UsageLog, where: { createdAt: { $lt: cutoff } }, orderBy: { createdAt: 'asc' } },
        context,
      )
      await pruneRollups(em, bucket, context.signal)
      await pruneActivity(em, cutoff, context)
      return rows
    },
  }
}

/** Users whose last call went with the rows: none of their rows is left. */
async function pruneActivity(
  em: () => EntityManager,
  cutoff: Date,
  { batchSize, signal }: RetentionContext,
): Promise<void> {
  while (!signal.aborted) {
    const users = await em().find(
      UsageUserActivity,
      { lastCallAt: { $lt: cutoff } },
      { fields: ['userId'], orderBy: { lastCallAt: 'asc' }, limit: batchSize, disableIdentityMap: true },
    )
    if (users.length === 0) return
    await em().nativeDelete(UsageUserActivity, {
      userId: { $in: users.map(user => user.userId) },
      lastCallAt: { $lt: cutoff },
    })
    if (users.length < batchSize) return
  }
}

async function pruneRollups(em: () => EntityManager, before: number, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    const [oldest] = await em().find(
      UsageRollup,
      { bucket: { $lt: before } },
      { fields: ['bucket'], orderBy: { bucket: 'asc' }, limit: 1, disableIdentityMap: true },
    )
    if (!oldest) return
    await em().nativeDelete(UsageRollup, {
      bucket: { $lt: Math.min(before, oldest.bucket + ROLLUP_BUCKETS_PER_DELETE) },
    })
  }
}
