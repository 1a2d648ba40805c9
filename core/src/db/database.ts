import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { EntityManager, EntitySchema, IMigrator, MikroORM, Options } from '@mikro-orm/core'
import type { AbstractSqlConnection } from '@mikro-orm/knex'
import type { Config } from '../config/schema.js'
import { errors } from '../errors.js'
import type { Logger } from '../logger.js'
import { redactCredentials } from '../redact.js'
import { migrationNames, type Dialect, type MigrationUnit } from './migrations.js'

export const MIGRATIONS_TABLE = 'parley_migrations'
const MIGRATION_LOCK = 'parley_migrations'
const MIGRATION_LOCK_WAIT_S = 120

/** Any entity defined with `defineEntity`, whatever its properties. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyEntitySchema = EntitySchema<any, any>

/** The database handle the kernel owns and hands to plugins (as `ctx.db` after start). */
export interface Database {
  readonly dialect: Dialect
  readonly orm: MikroORM
  /** A fresh unit of work; use one per request or job, never share across them. */
  em(): EntityManager
  /** Applies pending migrations; resolves to the names applied. */
  migrate(): Promise<string[]>
  /** Names of migrations not yet applied. */
  pending(): Promise<string[]>
  /** Rejects when the database does not answer within `timeoutMs`. */
  ping(timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

export interface OpenDatabaseOptions {
  readonly config: Config
  readonly entities: readonly AnyEntitySchema[]
  readonly units: readonly MigrationUnit[]
  readonly log: Logger
}

export function dialectOf(config: Config): Dialect {
  return config.database.url ? 'mysql' : 'sqlite'
}

/**
 * Opens SQLite (default) or MySQL/MariaDB (`database.url`). A MySQL server that is still
 * starting is retried until `database.connect_timeout_ms` runs out.
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  const { config, log } = options
  const dialect = dialectOf(config)
  const base: Options = {
    entities: [...options.entities],
    discovery: { warnWhenNoEntities: false },
    // The steps themselves are given to the migrator when it is loaded (`migrator.ts`).
    migrations: {
      tableName: MIGRATIONS_TABLE,
      // MySQL commits DDL implicitly, so a transaction there would only pretend to protect.
      transactional: dialect === 'sqlite',
      allOrNothing: dialect === 'sqlite',
      snapshot: false,
      silent: true,
    },
    allowGlobalContext: false,
    forceUtcTimezone: true,
    debug: config.database.debug,
    logger: message => log.debug({ orm: true }, message),
    schemaGenerator: { disableForeignKeys: false },
  }
  let orm: MikroORM
  if (dialect === 'sqlite') {
    const file = config.database.path as string
    mkdirSync(path.dirname(file), { recursive: true })
    const { MikroORM: SqliteOrm } = await import('@mikro-orm/sqlite')
    // WAL: readers never wait for the usage writer, and a commit is one append instead of a
    // journal round trip; with synchronous=NORMAL a power cut may lose the last commits but
    // never corrupts the file (https://sqlite.org/wal.html). busy_timeout covers a second
    // process (the CLI) writing at the same moment.
    const afterCreate = (
      connection: { exec(sql: string, done: (error: Error | null) => void): void },
      done: (error: Error | null, connection: unknown) => void,
    ) => {
      connection.exec('pragma journal_mode = wal; pragma synchronous = normal; pragma busy_timeout = 5000', error =>
        done(error, connection),
      )
    }
    orm = await SqliteOrm.init({ ...base, dbName: file, pool: { min: 1, max: 1, afterCreate } })
  } else {
    const { MikroORM: MySqlOrm } = await import('@mikro-orm/mysql')
    orm = await MySqlOrm.init({
      ...base,
      clientUrl: config.database.url as string,
      connect: false,
      pool: { min: 0, max: config.database.pool_max },
      timezone: '+00:00',
    })
    await waitForConnection(orm, config.database.connect_timeout_ms, log)
  }
  return new OrmDatabase(dialect, orm, options.units)
}

async function waitForConnection(orm: MikroORM, timeoutMs: number, log: Logger): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let reason = 'no attempt'
  for (let attempt = 1; ; attempt++) {
    try {
      await orm.connect()
      const check = await orm.checkConnection()
      if (check.ok) return
      reason = check.reason ?? 'unknown'
    } catch (error) {
      reason = (error as Error).message
    }
    if (Date.now() >= deadline) {
      await orm.close(true).catch(() => undefined)
      throw errors.PARLEY_ERR_DB_UNREACHABLE({
        seconds: Math.round(timeoutMs / 1000),
        reason: redactCredentials(reason),
      })
    }
    if (attempt === 1) log.warn({ reason: redactCredentials(reason) }, 'database not reachable yet; retrying')
    await sleep(Math.min(1000, Math.max(0, deadline - Date.now())))
  }
}

class OrmDatabase implements Database {
  readonly #units: readonly MigrationUnit[]
  #migrator: Promise<IMigrator> | undefined

  constructor(
    readonly dialect: Dialect,
    readonly orm: MikroORM,
    units: readonly MigrationUnit[],
  ) {
    this.#units = units
  }

  em(): EntityManager {
    return this.orm.em.fork()
  }

  async migrate(): Promise<string[]> {
    // Most starts have nothing to apply: one query tells, and the migrator is never loaded.
    if ((await this.unapplied())?.length === 0) return []
    try {
      const migrator = await this.migrator()
      const up = async () => (await migrator.up()).map(migration => migration.name)
      return this.dialect === 'mysql' ? await this.withMigrationLock(up) : await up()
    } catch (error) {
      const cause = error as Error & { migration?: { name?: string } }
      throw errors.PARLEY_ERR_DB_MIGRATION(
        { name: cause.migration?.name ?? '(unknown)', reason: redactCredentials(cause.message.split('\n')[0] ?? '') },
        { cause: error },
      )
    }
  }

  /**
   * N instances starting together must not run the same migrations twice: a MySQL named lock,
   * held on one pooled connection while the migrator works on the others, serialises them.
   */
  private async withMigrationLock<T>(work: () => Promise<T>): Promise<T> {
    const knex = (this.orm.em.getConnection() as AbstractSqlConnection).getKnex()
    return knex.transaction(async lockHolder => {
      const [rows] = (await lockHolder.raw('select get_lock(?, ?) as locked', [
        MIGRATION_LOCK,
        MIGRATION_LOCK_WAIT_S,
      ])) as [Array<{ locked: number | null }>]
      if (rows[0]?.locked !== 1)
        throw new Error(`another instance held the migration lock for over ${MIGRATION_LOCK_WAIT_S} s`)
      try {
        return await work()
      } finally {
        await lockHolder.raw('select release_lock(?)', [MIGRATION_LOCK])
      }
    })
  }

  async pending(): Promise<string[]> {
    const unapplied = await this.unapplied()
    if (unapplied) return unapplied
    return (await (await this.migrator()).getPendingMigrations()).map(migration => migration.name)
  }

  /**
   * The known steps the migrations table does not list, in the order they run, read with a
   * plain query; undefined when the table cannot be read (a new database, or an error the
   * migrator will then report). It can only err towards "pending": a name the table spells
   * differently sends the start to the migrator, which decides exactly, as it always did.
   */
  private async unapplied(): Promise<string[] | undefined> {
    let rows: Array<{ name: string }>
    try {
      rows = await this.orm.em.getConnection().execute(`select \`name\` from \`${MIGRATIONS_TABLE}\``)
    } catch {
      return undefined
    }
    const applied = new Set(rows.map(row => row.name))
    return migrationNames(this.#units, this.dialect).filter(name => !applied.has(name))
  }

  /** MikroORM's migrator, loaded on first use (`migrator.ts`: it weighs about 27 MB). */
  private migrator(): Promise<IMigrator> {
    this.#migrator ??= import('./migrator.js').then(({ attachMigrator }) =>
      attachMigrator(this.orm, this.#units, this.dialect),
    )
    return this.#migrator
  }

  async ping(timeoutMs = 2000): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
    })
    try {
      await Promise.race([this.orm.em.getConnection().execute('select 1'), timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  async close(): Promise<void> {
    await this.orm.close(true)
  }
}
