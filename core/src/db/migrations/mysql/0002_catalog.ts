import type { MigrationStep } from '../../migrations.js'

/** Channels, their sealed keys, models, channel-model bindings and chat group routes. */
export const m0002Catalog: MigrationStep = {
  name: '0002_catalog',
  up: [
    'create table `catalog_channels` (`id` int unsigned not null auto_increment primary key, `name` varchar(100) not null, `provider` varchar(32) not null, `base_url` varchar(500) not null, `rpm_limit` int not null default 0, `groups` text not null, `priority` int not null default 0, `weight` int not null default 1, `enabled` tinyint(1) not null default true, `settings` text not null, `created_at` datetime not null, `updated_at` datetime not null) default character set utf8mb4 engine = InnoDB;',
    'alter table `catalog_channels` add unique `catalog_channels_name_unique`(`name`);',
    'create table `catalog_channel_keys` (`id` int unsigned not null auto_increment primary key, `uid` varchar(36) not null, `channel_id` int not null, `sealed` text not null, `hint` varchar(32) not null, `enabled` tinyint(1) not null default true, `created_at` datetime not null) default character set utf8mb4 engine = InnoDB;',
    'alter table `catalog_channel_keys` add unique `catalog_channel_keys_uid_unique`(`uid`);',
    'alter table `catalog_channel_keys` add index `catalog_channel_keys_channel_id_index`(`channel_id`);',
    'create table `catalog_channel_models` (`id` int unsigned not null auto_increment primary key, `channel_id` int not null, `model` varchar(191) not null, `upstream_model` varchar(191) not null) default character set utf8mb4 engine = InnoDB;',
    'alter table `catalog_channel_models` add index `catalog_channel_models_channel_id_index`(`channel_id`);',
    'alter table `catalog_channel_models` add index `catalog_channel_models_model_index`(`model`);',
    'alter table `catalog_channel_models` add unique `catalog_channel_models_channel_id_model_unique`(`channel_id`, `model`);',
    'create table `catalog_chat_routes` (`group_name` varchar(64) not null, `channel_id` int not null, `updated_at` datetime not null, primary key (`group_name`)) default character set utf8mb4 engine = InnoDB;',
    'alter table `catalog_chat_routes` add index `catalog_chat_routes_channel_id_index`(`channel_id`);',
    "create table `catalog_models` (`name` varchar(191) not null, `display_name` varchar(191) not null default '', `reasoning` tinyint(1) not null default false, `vision` tinyint(1) not null default false, `enabled` tinyint(1) not null default true, `created_at` datetime not null, primary key (`name`)) default character set utf8mb4 engine = InnoDB;",
  ],
  down: [
    'drop table `catalog_chat_routes`;',
    'drop table `catalog_channel_models`;',
    'drop table `catalog_models`;',
    'drop table `catalog_channel_keys`;',
    'drop table `catalog_channels`;',
  ],
}
