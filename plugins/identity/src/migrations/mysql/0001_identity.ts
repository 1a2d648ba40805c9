import type { MigrationStep } from '@parley/core'

/** Users, groups (with the `default` group), refresh tokens and API tokens. */
export const m0001Identity: MigrationStep = {
  name: '0001_identity',
  up: [
    'create table `identity_api_tokens` (`id` int unsigned not null auto_increment primary key, `user_id` int not null, `name` varchar(64) not null, `token_hash` varchar(64) not null, `hint` varchar(32) not null, `created_at` datetime not null, `last_used_at` datetime null) default character set utf8mb4 engine = InnoDB;',
    'alter table `identity_api_tokens` add index `identity_api_tokens_user_id_index`(`user_id`);',
    'alter table `identity_api_tokens` add unique `identity_api_tokens_token_hash_unique`(`token_hash`);',
    'alter table `identity_api_tokens` add unique `identity_api_tokens_user_id_name_unique`(`user_id`, `name`);',
    "create table `identity_groups` (`name` varchar(64) not null, `description` varchar(255) not null default '', `rpm` int null, `models` text null, `model_config_limit` int not null default 0, `created_at` datetime not null, primary key (`name`)) default character set utf8mb4 engine = InnoDB;",
    'create table `identity_refresh_tokens` (`id` int unsigned not null auto_increment primary key, `token_hash` varchar(64) not null, `user_id` int not null, `family_id` varchar(36) not null, `expires_at` datetime not null, `revoked_at` datetime null, `created_at` datetime not null) default character set utf8mb4 engine = InnoDB;',
    'alter table `identity_refresh_tokens` add unique `identity_refresh_tokens_token_hash_unique`(`token_hash`);',
    'alter table `identity_refresh_tokens` add index `identity_refresh_tokens_user_id_index`(`user_id`);',
    'alter table `identity_refresh_tokens` add index `identity_refresh_tokens_family_id_index`(`family_id`);',
    'alter table `identity_refresh_tokens` add index `identity_refresh_tokens_expires_at_index`(`expires_at`);',
    "create table `identity_users` (`id` int unsigned not null auto_increment primary key, `email` varchar(191) not null, `username` varchar(64) not null, `username_key` varchar(64) not null, `password_hash` varchar(255) not null, `role` varchar(16) not null default 'user', `group_name` varchar(64) not null default 'default', `status` varchar(16) not null default 'active', `created_at` datetime not null, `updated_at` datetime not null, `last_login_at` datetime null) default character set utf8mb4 engine = InnoDB;",
    'alter table `identity_users` add unique `identity_users_email_unique`(`email`);',
    'alter table `identity_users` add unique `identity_users_username_key_unique`(`username_key`);',
    "insert into `identity_groups` (`name`, `description`, `model_config_limit`, `created_at`) values ('default', 'Everyone starts here', 0, CURRENT_TIMESTAMP);",
  ],
  down: [
    'drop table `identity_api_tokens`;',
    'drop table `identity_refresh_tokens`;',
    'drop table `identity_groups`;',
    'drop table `identity_users`;',
  ],
}
