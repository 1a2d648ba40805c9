import type { DialectMigrations } from '../migrations.js'
import { m0001SystemConfig as mysql0001 } from './mysql/0001_system_config.js'
import { m0002Catalog as mysql0002 } from './mysql/0002_catalog.js'
import { m0003UsageLogs as mysql0003 } from './mysql/0003_usage_logs.js'
import { m0001SystemConfig as sqlite0001 } from './sqlite/0001_system_config.js'
import { m0002Catalog as sqlite0002 } from './sqlite/0002_catalog.js'
import { m0003UsageLogs as sqlite0003 } from './sqlite/0003_usage_logs.js'

/** The kernel's own tables, listed explicitly (no folder discovery). */
export const coreMigrations: DialectMigrations = {
  sqlite: [sqlite0001, sqlite0002, sqlite0003],
  mysql: [mysql0001, mysql0002, mysql0003],
}
