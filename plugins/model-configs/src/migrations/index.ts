import type { DialectMigrations } from '@parley/core'
import { m0001ModelConfigs as mysql0001 } from './mysql/0001_model_configs.js'
import { m0001ModelConfigs as sqlite0001 } from './sqlite/0001_model_configs.js'

export const modelConfigMigrations: DialectMigrations = { sqlite: [sqlite0001], mysql: [mysql0001] }
