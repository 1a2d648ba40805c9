import type { DialectMigrations } from '@parley/core'
import { m0001Uploads as mysql0001 } from './mysql/0001_uploads.js'
import { m0001Uploads as sqlite0001 } from './sqlite/0001_uploads.js'

export const uploadMigrations: DialectMigrations = { sqlite: [sqlite0001], mysql: [mysql0001] }
