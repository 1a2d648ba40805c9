import type { MigrationStep } from '@parley/core'

export const m0001ModelConfigs: MigrationStep = {
  name: '0001_model_configs',
  up: [
    'create table `model_configs` (`id` integer not null primary key autoincrement, `uid` text not null, `user_id` integer not null, `name` text not null, `base_url` text not null, `model` text not null, `sealed_key` text not null, `key_hint` text not null, `parameters` text not null, `created_at` datetime not null, `updated_at` datetime not null);',
    'create unique index `model_configs_uid_unique` on `model_configs` (`uid`);',
    'create index `model_configs_user_id_id_index` on `model_configs` (`user_id`, `id`);',
  ],
  down: ['drop table `model_configs`;'],
}
