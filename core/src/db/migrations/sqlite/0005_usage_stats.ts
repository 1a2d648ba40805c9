import type { MigrationStep } from '../../migrations.js'

/**
 * Stats rollups per model and quarter hour and each user's last call, filled from the rows
 * already logged (`created_at` is epoch milliseconds on SQLite), and an index per filter of the
 * admin log list.
 */
export const m0005UsageStats: MigrationStep = {
  name: '0005_usage_stats',
  up: [
    'create table `usage_rollups` (`bucket` integer not null, `model` text not null, `calls` integer not null, `prompt_tokens` bigint not null, `completion_tokens` bigint not null, primary key (`bucket`, `model`));',
    'insert into `usage_rollups` (`bucket`, `model`, `calls`, `prompt_tokens`, `completion_tokens`) select `created_at` / 900000, `model`, count(*), sum(`prompt_tokens`), sum(`completion_tokens`) from `usage_logs` group by `created_at` / 900000, `model`;',
    'create table `usage_user_activity` (`user_id` integer not null, `last_call_at` datetime not null, primary key (`user_id`));',
    'create index `usage_user_activity_last_call_at_index` on `usage_user_activity` (`last_call_at`);',
    'insert into `usage_user_activity` (`user_id`, `last_call_at`) select `user_id`, max(`created_at`) from `usage_logs` where `user_id` is not null group by `user_id`;',
    'create index `usage_logs_username_created_at_index` on `usage_logs` (`username`, `created_at`);',
    'create index `usage_logs_ip_created_at_index` on `usage_logs` (`ip`, `created_at`);',
    'create index `usage_logs_channel_id_created_at_index` on `usage_logs` (`channel_id`, `created_at`);',
    'create index `usage_logs_status_created_at_index` on `usage_logs` (`status`, `created_at`);',
  ],
  down: [
    'drop index `usage_logs_status_created_at_index`;',
    'drop index `usage_logs_channel_id_created_at_index`;',
    'drop index `usage_logs_ip_created_at_index`;',
    'drop index `usage_logs_username_created_at_index`;',
    'drop table `usage_user_activity`;',
    'drop table `usage_rollups`;',
  ],
}
