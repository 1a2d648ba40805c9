import { randomBytes } from 'node:crypto'

export interface TempDatabase {
  /** `mysql://…/<fresh database>` */
  readonly url: string
  drop(): Promise<void>
}

/**
 * A fresh, empty database on a MySQL/MariaDB server for one test, so parallel test files never
 * share tables. `serverUrl` needs rights to create and drop databases.
 */
export async function createTempMysqlDatabase(serverUrl: string): Promise<TempDatabase> {
  const { createConnection } = await import('mysql2/promise')
  const name = `parley_t_${randomBytes(6).toString('hex')}`
  const admin = new URL(serverUrl)
  admin.pathname = '/'
  const connection = await createConnection({ uri: admin.toString() })
  try {
    await connection.query(`create database \`${name}\` character set utf8mb4 collate utf8mb4_unicode_ci`)
  } finally {
    await connection.end()
  }
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    async drop() {
      const dropper = await createConnection({ uri: admin.toString() })
      try {
        await dropper.query(`drop database if exists \`${name}\``)
      } finally {
        await dropper.end()
      }
    },
  }
}
