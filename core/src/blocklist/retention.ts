import type { EntityManager } from '@mikro-orm/core'
import type { RetentionContext } from '../retention/task.js'
import { BlockedAttempt } from './entities.js'

/** Deletes refused-attempt records older than the retention cut-off, a batch per statement. */
export async function pruneBlockedAttempts(em: EntityManager, { before, batchSize, signal }: RetentionContext): Promise<number> {
  let deleted = 0
  while (!signal.aborted) {
    // Two steps: MySQL refuses LIMIT inside an IN (subquery).
    const rows = await em.fork().find(BlockedAttempt, { createdAt: { $lt: before } }, { fields: ['id'], orderBy: { id: 'asc' }, limit: batchSize })
    if (rows.length === 0) break
    deleted += await em.fork().nativeDelete(BlockedAttempt, { id: { $in: rows.map(row => row.id) } })
    if (rows.length < batchSize) break
  }
  return deleted
}
