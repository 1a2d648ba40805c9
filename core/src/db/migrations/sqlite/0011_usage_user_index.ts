import type { MigrationStep } from '../../migrations.js'

/**
 * `(user_id, created_at)` goes: `usage_logs_user_totals_index` (0010) starts with the same two
 * columns and serves every query it served. Each index costs every logged call an insert into
 * it; with both, the usage writer spent about a third more CPU per row (bench/usage-scale.ts).
 */
export const m0011UsageUserIndex: MigrationStep = {
  name: '0011_usage_user_index',
  up: ['drop index `usage_logs_user_id_created_at_index`;'],
  down: ['create index `usage_logs_user_id_created_at_index` on `usage_logs` (`user_id`, `created_at`);'],
}
