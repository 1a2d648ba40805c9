import type { DialectMigrations } from '@parley/core'
import { m0001Conversations as mysql0001 } from './mysql/0001_conversations.js'
import { m0002MessageRunner as mysql0002 } from './mysql/0002_message_runner.js'
import { m0001Conversations as sqlite0001 } from './sqlite/0001_conversations.js'
import { m0002MessageRunner as sqlite0002 } from './sqlite/0002_message_runner.js'

export const conversationMigrations: DialectMigrations = {
  sqlite: [sqlite0001, sqlite0002],
  mysql: [mysql0001, mysql0002],
}
