import type { Gateway } from '../kernel/gateway.js'
import { MIGRATIONS_TABLE } from '../db/database.js'

/**
 * The SQL that would still be needed to make the migrated database match the entities. A
 * plugin's test asserts this is empty on every dialect; when it is not, the statements are
 * exactly what the missing migration must contain.
 *
 * @example
 * t.same(await pendingSchemaChanges(gateway), [], 'migrations match the entities')
 */
export async function pendingSchemaChanges(gateway: Gateway): Promise<string[]> {
  const orm = gateway.db.orm
  if (gateway.db.dialect === 'mysql' && (await isMariaDb(gateway))) {
    // MariaDB reports string defaults quoted in information_schema; MikroORM's MySQL schema
    // reader takes those quotes for part of the value and sees drift that is not there. Its
    // MariaDB driver reads them right, so the comparison is made with it.
    const { MikroORM } = await import('@mikro-orm/mariadb')
    const mariadb = await MikroORM.init({
      entities: orm.config.get('entities'),
      clientUrl: gateway.config.database.url as string,
      discovery: { warnWhenNoEntities: false },
      migrations: { tableName: MIGRATIONS_TABLE },
      pool: { min: 0, max: 1 },
    })
    try {
      return toStatements(await mariadb.schema.getUpdateSchemaSQL({ wrap: false, safe: false, dropTables: true }))
    } finally {
      await mariadb.close(true)
    }
  }
  return toStatements(await orm.schema.getUpdateSchemaSQL({ wrap: false, safe: false, dropTables: true }))
}

async function isMariaDb(gateway: Gateway): Promise<boolean> {
  const rows = (await gateway.db.orm.em.getConnection().execute('select version() as version')) as Array<{
    version: string
  }>
  return /mariadb/i.test(rows[0]?.version ?? '')
}

function toStatements(sql: string): string[] {
  return sql
    .split('\n')
    .map(line => line.trim())
    .filter(line => line.length > 0)
}
