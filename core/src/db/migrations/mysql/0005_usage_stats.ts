import type { MigrationStep } from '../../migrations.js'

/**
 * Stats rollups per model and quarter hour and each user's last call, filled from the rows
 * already logged, and an index per filter of the admin log list (one ALTER for the four). The
 * bucket is datetime arithmetic, independent of the session time zone: `created_at` holds UTC.
 */
export const m0005UsageStats: MigrationStep = {
  name: '0005_usage_stats',
  up: [
    'create table `usage_rollups` (`bucket` int unsigned not null, `model` varchar(191) not null, `calls` int not null, `prompt_tokens` bigint not null, `completion_tokens` bigint not null, primary key (`bucket`, `model`)) default character set utf8mb4 engine = InnoDB;',
    "insert into `usage_rollups` (`bucket`, `model`, `calls`, `prompt_tokens`, `completion_tokens`) select timestampdiff(minute, '1970-01-01 00:00:00', `created_at`) div 15, `model`, count(*), sum(`prompt_tokens`), sum(`completion_tokens`) from `usage_logs` group by timestampdiff(minute, '1970-01-01 00:00:00', `created_at`) div 15, `model`;",
    'create table `usage_user_activity` (`user_id` int unsigned not null, `last_call_at` datetime not null, primary key (`user_id`)) default character set utf8mb4 engine = InnoDB;',
    'alter table `usage_user_activity` add index `usage_user_activity_last_call_at_index`(`last_call_at`);',
    'insert into `usage_user_activity` (`user_id`, `last_call_at`) select `user_id`, max(`created_at`) from `usage_logs` where `user_id` is not null group by `user_id`;',
    'alter table `usage_logs` add index `usage_logs_username_created_at_index`(`username`, `created_at`), add index `usage_logs_ip_created_at_index`(`ip`, `created_at`), add index `usage_logs_channel_id_created_at_index`(`channel_id`, `created_at`), add index `usage_logs_status_created_at_index`(`status`, `created_at`);',
  ],
  down: [
    'alter table `usage_logs` drop index `usage_logs_status_created_at_index`, drop index `usage_logs_channel_id_created_at_index`, drop index `usage_logs_ip_created_at_index`, drop index `usage_logs_username_created_at_index`;',
    'drop table `usage_user_activity`;',
    'drop table `usage_rollups`;',
  ],
}
