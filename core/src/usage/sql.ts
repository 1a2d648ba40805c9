import type { EntityManager } from '@mikro-orm/core'
import { BaseSqlitePlatform, type SqlEntityManager } from '@mikro-orm/knex'

/*
 * The usage writer's SQL runs on the database driver itself, on a connection borrowed from the
 * ORM's pool: a batch is five statements (begin, rows, rollups, last calls, commit), and through
 * MikroORM and knex their transaction, query building and result handling held the event loop
 * for about a millisecond per batch, on top of the rows (bench/NOTES.md). The driver binds
 * the parameters itself, so no value is ever spliced into the SQL text.
 */

/** Runs one statement with bound parameters; resolves when the database has done it. */
export type Run = (sql: string, params?: readonly unknown[]) => Promise<void>

/** The two drivers MikroORM's knex dialects use, as far as the writer needs them. */
interface Sqlite3Connection {
  run(sql: string, params: readonly unknown[], done: (error: Error | null) => void): void
}
interface Mysql2Connection {
  query(sql: string, params: readonly unknown[], done: (error: Error | null) => void): void
}
interface PoolClient {
  acquireConnection(): Promise<unknown>
  releaseConnection(connection: unknown): unknown
}

/** True on SQLite, false on MySQL/MariaDB. */
export function isSqlite(em: EntityManager): boolean {
  return em.getPlatform() instanceof BaseSqlitePlatform
}

/**
 * Runs `work` in one transaction on a pooled connection: committed when `work` resolves, rolled
 * back when it (or the commit) fails. SQLite's transaction takes the write lock at once
 * (`begin immediate`), so a second process writing meanwhile makes it wait out `busy_timeout`
 * instead of failing half-way.
 */
export async function inTransaction(
  em: EntityManager,
  work: (run: Run, sqlite: boolean) => Promise<void>,
): Promise<void> {
  const sqlite = isSqlite(em)
  const pool = (em as SqlEntityManager).getConnection().getKnex().client as PoolClient
  const connection = await pool.acquireConnection()
  const run: Run = sqlite
    ? (sql, params = []) =>
        new Promise((resolve, reject) =>
          (connection as Sqlite3Connection).run(sql, params, error => (error ? reject(error) : resolve())),
        )
    : (sql, params = []) =>
        new Promise((resolve, reject) =>
          (connection as Mysql2Connection).query(sql, params, error => (error ? reject(error) : resolve())),
        )
  try {
    await run(sqlite ? 'begin immediate' : 'start transaction')
    try {
      await work(run, sqlite)
      await run('commit')
    } catch (error) {
      await run('rollback').catch(() => undefined)
      throw error
    }
  } finally {
    await pool.releaseConnection(connection)
  }
}
