import type { EntityManager } from '@mikro-orm/core'
import { BaseSqlitePlatform, type SqlEntityManager } from '@mikro-orm/knex'

/*
 * The usage writer's SQL: statements run with bound parameters through knex, inside the
 * EntityManager's transaction. MikroORM's `em.execute(sql, params)` would inline every value
 * into the SQL text first: work on the event loop for each batch, and a value with a NUL in it
 * cuts SQLite's statement short, so one odd model name would fail every retry of its batch.
 */

export function isSqlite(em: EntityManager): boolean {
  return em.getPlatform() instanceof BaseSqlitePlatform
}

/** A value as MikroORM stores it: SQLite keeps dates as epoch milliseconds and booleans as 0/1. */
export function databaseValue(value: unknown, sqlite: boolean): unknown {
  if (value instanceof Date) return sqlite ? value.getTime() : value.toISOString().slice(0, 19).replace('T', ' ')
  if (typeof value === 'boolean' && sqlite) return value ? 1 : 0
  return value
}

/** Runs `sql` with `params` bound (values already as `databaseValue` gives them). */
export async function runBound(em: EntityManager, sql: string, params: readonly unknown[]): Promise<void> {
  const query = (em as SqlEntityManager).getConnection().getKnex().raw(sql, params as unknown[])
  const transaction = em.getTransactionContext()
  if (transaction) query.transacting(transaction)
  await query
}
