import type { DialectMigrations } from '@parley/core'
import { m0001Identity as mysql0001 } from './mysql/0001_identity.js'
import { m0002SessionEpoch as mysql0002 } from './mysql/0002_session_epoch.js'
import { m0003ApiTokenLimits as mysql0003 } from './mysql/0003_api_token_limits.js'
import { m0004PasswordResets as mysql0004 } from './mysql/0004_password_resets.js'
import { m0001Identity as sqlite0001 } from './sqlite/0001_identity.js'
import { m0002SessionEpoch as sqlite0002 } from './sqlite/0002_session_epoch.js'
import { m0003ApiTokenLimits as sqlite0003 } from './sqlite/0003_api_token_limits.js'
import { m0004PasswordResets as sqlite0004 } from './sqlite/0004_password_resets.js'

export const identityMigrations: DialectMigrations = {
  sqlite: [sqlite0001, sqlite0002, sqlite0003, sqlite0004],
  mysql: [mysql0001, mysql0002, mysql0003, mysql0004],
}
