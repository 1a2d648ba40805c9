import type { EntityManager } from '@mikro-orm/core'
import { deleteInBatches } from '../retention/batches.js'
import type { RetentionContext } from '../retention/task.js'
import { BlockedAttempt } from './entities.js'

/** Deletes refused-attempt records older than the retention cut-off, along the `created_at` index. */
export function pruneBlockedAttempts(em: () => EntityManager, context: RetentionContext): Promise<number> {
  return deleteInBatches(
    em,
    { entity: BlockedAttempt, where: { createdAt: { $lt: context.before } }, orderBy: { createdAt: 'asc' } },
    context,
  )
}
