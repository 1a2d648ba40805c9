import type { DialectMigrations } from '@parley/core'
import { m0001Widget as mysql0001 } from './mysql/0001_widget.js'
import { m0001Widget as sqlite0001 } from './sqlite/0001_widget.js'

export const widgetMigrations: DialectMigrations = { sqlite: [sqlite0001], mysql: [mysql0001] }
