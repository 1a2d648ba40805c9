import type { MigrationStep } from '../../migrations.js'

/** One row per model call, indexed for time-range filters by user and by model. */
export const m0003UsageLogs: MigrationStep = {
  name: '0003_usage_logs',
  up: [
    'create table `usage_logs` (`id` int unsigned not null auto_increment primary key, `created_at` datetime not null, `request_id` varchar(128) not null, `ip` varchar(45) not null, `principal_kind` varchar(16) not null, `user_id` int null, `username` varchar(64) null, `token_id` int null, `model` varchar(191) not null, `channel_id` int null, `channel_name` varchar(100) null, `prompt_tokens` int not null, `completion_tokens` int not null, `estimated` tinyint(1) not null, `status` varchar(16) not null, `error_type` varchar(64) null, `latency_ms` int not null, `ttfb_ms` int null, `endpoint` varchar(32) not null, `stream` tinyint(1) not null) default character set utf8mb4 engine = InnoDB;',
    'alter table `usage_logs` add index `usage_logs_created_at_index`(`created_at`);',
    'alter table `usage_logs` add index `usage_logs_user_id_created_at_index`(`user_id`, `created_at`);',
    'alter table `usage_logs` add index `usage_logs_model_created_at_index`(`model`, `created_at`);',
  ],
  down: ['drop table `usage_logs`;'],
}
