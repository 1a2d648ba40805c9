import type { MigrationStep } from '@parley/core'

export const m0001Widget: MigrationStep = {
  name: '0001_widget',
  up: [
    "create table `widget_clients` (`id` integer not null primary key autoincrement, `client_id` text not null, `name` text not null, `secret_sealed` text not null, `previous_secret_sealed` text null, `previous_secret_until` datetime null, `allowed_ips` text not null, `allowed_origins` text not null, `model` text not null, `greeting` text not null default '', `theme_color` text not null default '#2563eb', `rpm` integer not null default 0, `transcripts` integer not null default false, `enabled` integer not null default true, `created_at` datetime not null, `updated_at` datetime not null);",
    'create unique index `widget_clients_client_id_unique` on `widget_clients` (`client_id`);',
  ],
  down: ['drop table `widget_clients`;'],
}
