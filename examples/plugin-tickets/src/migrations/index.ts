import type { DialectMigrations } from '@parley/core'
import { m0001Tickets as mysql0001 } from './mysql/0001_tickets.js'
import { m0001Tickets as sqlite0001 } from './sqlite/0001_tickets.js'

/** One list per dialect, the same steps in the same order. */
export const ticketsMigrations: DialectMigrations = { sqlite: [sqlite0001], mysql: [mysql0001] }
