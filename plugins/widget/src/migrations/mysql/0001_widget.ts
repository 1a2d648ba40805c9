import type { MigrationStep } from '@parley/core'

export const m0001Widget: MigrationStep = {
  name: '0001_widget',
  up: [
    "create table `widget_clients` (`id` int unsigned not null auto_increment primary key, `client_id` varchar(40) not null, `name` varchar(100) not null, `secret_sealed` text not null, `previous_secret_sealed` text null, `previous_secret_until` datetime null, `allowed_ips` text not null, `allowed_origins` text not null, `model` varchar(128) not null, `greeting` varchar(500) not null default '', `theme_color` varchar(7) not null default '#2563eb', `rpm` int not null default 0, `transcripts` tinyint(1) not null default false, `enabled` tinyint(1) not null default true, `created_at` datetime not null, `updated_at` datetime not null) default character set utf8mb4 engine = InnoDB;",
    'alter table `widget_clients` add unique `widget_clients_client_id_unique`(`client_id`);',
  ],
  down: ['drop table `widget_clients`;'],
}
