import type { DialectMigrations } from '@parley/core'
import { m0001Conversations as mysql0001 } from './mysql/0001_conversations.js'
import { m0001Conversations as sqlite0001 } from './sqlite/0001_conversations.js'

export const conversationMigrations: DialectMigrations = { sqlite: [sqlite0001], mysql: [mysql0001] }
