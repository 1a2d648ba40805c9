import type { MigrationStep } from '../../migrations.js'

/** One row per model call, indexed for time-range filters by user and by model. */
export const m0003UsageLogs: MigrationStep = {
  name: '0003_usage_logs',
  up: [
    'create table `usage_logs` (`id` integer not null primary key autoincrement, `created_at` datetime not null, `request_id` text not null, `ip` text not null, `principal_kind` text not null, `user_id` integer null, `username` text null, `token_id` integer null, `model` text not null, `channel_id` integer null, `channel_name` text null, `prompt_tokens` integer not null, `completion_tokens` integer not null, `estimated` integer not null, `status` text not null, `error_type` text null, `latency_ms` integer not null, `ttfb_ms` integer null, `endpoint` text not null, `stream` integer not null);',
    'create index `usage_logs_created_at_index` on `usage_logs` (`created_at`);',
    'create index `usage_logs_user_id_created_at_index` on `usage_logs` (`user_id`, `created_at`);',
    'create index `usage_logs_model_created_at_index` on `usage_logs` (`model`, `created_at`);',
  ],
  down: ['drop table `usage_logs`;'],
}
