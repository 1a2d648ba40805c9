import type { MigrationStep } from '../../migrations.js'

/** Channels, their sealed keys, models, channel-model bindings and chat group routes. */
export const m0002Catalog: MigrationStep = {
  name: '0002_catalog',
  up: [
    'create table `catalog_channels` (`id` integer not null primary key autoincrement, `name` text not null, `provider` text not null, `base_url` text not null, `rpm_limit` integer not null default 0, `groups` text not null, `priority` integer not null default 0, `weight` integer not null default 1, `enabled` integer not null default true, `settings` text not null, `created_at` datetime not null, `updated_at` datetime not null);',
    'create unique index `catalog_channels_name_unique` on `catalog_channels` (`name`);',
    'create table `catalog_channel_keys` (`id` integer not null primary key autoincrement, `uid` text not null, `channel_id` integer not null, `sealed` text not null, `hint` text not null, `enabled` integer not null default true, `created_at` datetime not null);',
    'create unique index `catalog_channel_keys_uid_unique` on `catalog_channel_keys` (`uid`);',
    'create index `catalog_channel_keys_channel_id_index` on `catalog_channel_keys` (`channel_id`);',
    'create table `catalog_channel_models` (`id` integer not null primary key autoincrement, `channel_id` integer not null, `model` text not null, `upstream_model` text not null);',
    'create index `catalog_channel_models_channel_id_index` on `catalog_channel_models` (`channel_id`);',
    'create index `catalog_channel_models_model_index` on `catalog_channel_models` (`model`);',
    'create unique index `catalog_channel_models_channel_id_model_unique` on `catalog_channel_models` (`channel_id`, `model`);',
    'create table `catalog_chat_routes` (`group_name` text not null, `channel_id` integer not null, `updated_at` datetime not null, primary key (`group_name`));',
    'create index `catalog_chat_routes_channel_id_index` on `catalog_chat_routes` (`channel_id`);',
    "create table `catalog_models` (`name` text not null, `display_name` text not null default '', `reasoning` integer not null default false, `vision` integer not null default false, `enabled` integer not null default true, `created_at` datetime not null, primary key (`name`));",
  ],
  down: [
    'drop table `catalog_chat_routes`;',
    'drop table `catalog_channel_models`;',
    'drop table `catalog_models`;',
    'drop table `catalog_channel_keys`;',
    'drop table `catalog_channels`;',
  ],
}
