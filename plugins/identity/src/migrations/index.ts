import type { DialectMigrations } from '@parley/core'
import { m0001Identity as mysql0001 } from './mysql/0001_identity.js'
import { m0001Identity as sqlite0001 } from './sqlite/0001_identity.js'

export const identityMigrations: DialectMigrations = { sqlite: [sqlite0001], mysql: [mysql0001] }
