import type { DialectMigrations } from '../migrations.js'
import { m0001SystemConfig as mysql0001 } from './mysql/0001_system_config.js'
import { m0002Catalog as mysql0002 } from './mysql/0002_catalog.js'
import { m0003UsageLogs as mysql0003 } from './mysql/0003_usage_logs.js'
import { m0004Blocklist as mysql0004 } from './mysql/0004_blocklist.js'
import { m0005UsageStats as mysql0005 } from './mysql/0005_usage_stats.js'
import { m0006ChannelImageDelivery as mysql0006 } from './mysql/0006_channel_image_delivery.js'
import { m0007ChannelKeyDisable as mysql0007 } from './mysql/0007_channel_key_disable.js'
import { m0008ChannelTimeouts as mysql0008 } from './mysql/0008_channel_timeouts.js'
import { m0009UsageLogFilters as mysql0009 } from './mysql/0009_usage_log_filters.js'
import { m0010UsageUserTotals as mysql0010 } from './mysql/0010_usage_user_totals.js'
import { m0011UsageUserIndex as mysql0011 } from './mysql/0011_usage_user_index.js'
import { m0001SystemConfig as sqlite0001 } from './sqlite/0001_system_config.js'
import { m0002Catalog as sqlite0002 } from './sqlite/0002_catalog.js'
import { m0003UsageLogs as sqlite0003 } from './sqlite/0003_usage_logs.js'
import { m0004Blocklist as sqlite0004 } from './sqlite/0004_blocklist.js'
import { m0005UsageStats as sqlite0005 } from './sqlite/0005_usage_stats.js'
import { m0006ChannelImageDelivery as sqlite0006 } from './sqlite/0006_channel_image_delivery.js'
import { m0007ChannelKeyDisable as sqlite0007 } from './sqlite/0007_channel_key_disable.js'
import { m0008ChannelTimeouts as sqlite0008 } from './sqlite/0008_channel_timeouts.js'
import { m0009UsageLogFilters as sqlite0009 } from './sqlite/0009_usage_log_filters.js'
import { m0010UsageUserTotals as sqlite0010 } from './sqlite/0010_usage_user_totals.js'
import { m0011UsageUserIndex as sqlite0011 } from './sqlite/0011_usage_user_index.js'

/** The kernel's own tables, listed explicitly (no folder discovery). */
export const coreMigrations: DialectMigrations = {
  sqlite: [
    sqlite0001,
    sqlite0002,
    sqlite0003,
    sqlite0004,
    sqlite0005,
    sqlite0006,
    sqlite0007,
    sqlite0008,
    sqlite0009,
    sqlite0010,
    sqlite0011,
  ],
  mysql: [
    mysql0001,
    mysql0002,
    mysql0003,
    mysql0004,
    mysql0005,
    mysql0006,
    mysql0007,
    mysql0008,
    mysql0009,
    mysql0010,
    mysql0011,
  ],
}
