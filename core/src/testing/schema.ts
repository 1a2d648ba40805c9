import type { Gateway } from '../kernel/gateway.js'

/**
 * The SQL that would still be needed to make the migrated database match the entities. A
 * plugin's test asserts this is empty on every dialect; when it is not, the statements are
 * exactly what the missing migration must contain.
 *
 * @example
 * t.same(await pendingSchemaChanges(gateway), [], 'migrations match the entities')
 */
export async function pendingSchemaChanges(gateway: Gateway): Promise<string[]> {
  const sql = await gateway.db.orm.schema.getUpdateSchemaSQL({ wrap: false, safe: false, dropTables: true })
  return sql
    .split('\n')
    .map(line => line.trim())
    .filter(line => line.length > 0)
}
