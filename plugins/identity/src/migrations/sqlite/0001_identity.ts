import type { MigrationStep } from '@parley/core'

/** Users, groups (with the `default` group), refresh tokens and API tokens. */
export const m0001Identity: MigrationStep = {
  name: '0001_identity',
  up: [
    'create table `identity_api_tokens` (`id` integer not null primary key autoincrement, `user_id` integer not null, `name` text not null, `token_hash` text not null, `hint` text not null, `created_at` datetime not null, `last_used_at` datetime null);',
    'create index `identity_api_tokens_user_id_index` on `identity_api_tokens` (`user_id`);',
    'create unique index `identity_api_tokens_token_hash_unique` on `identity_api_tokens` (`token_hash`);',
    'create unique index `identity_api_tokens_user_id_name_unique` on `identity_api_tokens` (`user_id`, `name`);',
    "create table `identity_groups` (`name` text not null, `description` text not null default '', `rpm` integer null, `models` text null, `model_config_limit` integer not null default 0, `created_at` datetime not null, primary key (`name`));",
    'create table `identity_refresh_tokens` (`id` integer not null primary key autoincrement, `token_hash` text not null, `user_id` integer not null, `family_id` text not null, `expires_at` datetime not null, `revoked_at` datetime null, `created_at` datetime not null);',
    'create unique index `identity_refresh_tokens_token_hash_unique` on `identity_refresh_tokens` (`token_hash`);',
    'create index `identity_refresh_tokens_user_id_index` on `identity_refresh_tokens` (`user_id`);',
    'create index `identity_refresh_tokens_family_id_index` on `identity_refresh_tokens` (`family_id`);',
    'create index `identity_refresh_tokens_expires_at_index` on `identity_refresh_tokens` (`expires_at`);',
    "create table `identity_users` (`id` integer not null primary key autoincrement, `email` text not null, `username` text not null, `username_key` text not null, `password_hash` text not null, `role` text not null default 'user', `group_name` text not null default 'default', `status` text not null default 'active', `created_at` datetime not null, `updated_at` datetime not null, `last_login_at` datetime null);",
    'create unique index `identity_users_email_unique` on `identity_users` (`email`);',
    'create unique index `identity_users_username_key_unique` on `identity_users` (`username_key`);',
    "insert into `identity_groups` (`name`, `description`, `model_config_limit`, `created_at`) values ('default', 'Everyone starts here', 0, CURRENT_TIMESTAMP);",
  ],
  down: [
    'drop table `identity_api_tokens`;',
    'drop table `identity_refresh_tokens`;',
    'drop table `identity_groups`;',
    'drop table `identity_users`;',
  ],
}
