import type { MigrationStep } from '@parley/core'

export const m0001ModelConfigs: MigrationStep = {
  name: '0001_model_configs',
  up: [
    'create table `model_configs` (`id` int unsigned not null auto_increment primary key, `uid` varchar(36) not null, `user_id` int not null, `name` varchar(100) not null, `base_url` varchar(2048) not null, `model` varchar(191) not null, `sealed_key` text not null, `key_hint` varchar(32) not null, `parameters` text not null, `created_at` datetime not null, `updated_at` datetime not null) default character set utf8mb4 engine = InnoDB;',
    'alter table `model_configs` add unique `model_configs_uid_unique`(`uid`);',
    'alter table `model_configs` add index `model_configs_user_id_id_index`(`user_id`, `id`);',
  ],
  down: ['drop table `model_configs`;'],
}
