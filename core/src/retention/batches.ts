import type { EntityManager, EntityName, FilterQuery, QueryOrderMap } from '@mikro-orm/core'
import type { RetentionContext } from './task.js'

/** What `deleteInBatches` removes: rows of `entity` matching `where`, with an integer `id`. */
export interface BatchedDelete<T extends { id: number }> {
  readonly entity: EntityName<T>
  readonly where: FilterQuery<T>
  /**
   * Order of the id lookup. Use the indexed column of `where` (`{ createdAt: 'asc' }`), so each
   * lookup is one index range and a run with nothing to delete reads nothing.
   */
  readonly orderBy: QueryOrderMap<T>
}

/**
 * Deletes matching rows `batchSize` at a time until none are left or `signal` aborts, and
 * returns how many went. Two statements per batch, ids first: MySQL refuses LIMIT in an
 * `IN (subquery)`, and a short delete by primary key locks only the rows it removes.
 *
 * @example
 * ctx.retention.register('expired-tickets', {
 *   prune: context => deleteInBatches(ctx.db.em, { entity: Ticket, where: { closedAt: { $lt: context.before } }, orderBy: { closedAt: 'asc' } }, context),
 * })
 */
export async function deleteInBatches<T extends { id: number }>(
  em: () => EntityManager,
  target: BatchedDelete<T>,
  { batchSize, signal }: Pick<RetentionContext, 'batchSize' | 'signal'>,
): Promise<number> {
  let deleted = 0
  while (!signal.aborted) {
    const rows = (await em().find(target.entity, target.where, {
      fields: ['id'] as never,
      orderBy: target.orderBy,
      limit: batchSize,
      disableIdentityMap: true,
    })) as Array<{ id: number }>
    if (rows.length === 0) break
    // `where` again: a row changed since the lookup (a token renewed) is left alone.
    deleted += await em().nativeDelete(target.entity, {
      $and: [target.where, { id: { $in: rows.map(row => row.id) } }],
    } as FilterQuery<T>)
    if (rows.length < batchSize) break
  }
  return deleted
}
