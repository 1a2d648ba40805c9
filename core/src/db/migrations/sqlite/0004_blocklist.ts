import type { MigrationStep } from '../../migrations.js'

/** Blocked addresses and ranges, and every attempt they refused. */
export const m0004Blocklist: MigrationStep = {
  name: '0004_blocklist',
  up: [
    "create table `blocked_ips` (`id` integer not null primary key autoincrement, `rule` text not null, `reason` text not null default '', `created_by` text not null default '', `created_at` datetime not null);",
    'create unique index `blocked_ips_rule_unique` on `blocked_ips` (`rule`);',
    'create table `blocked_attempts` (`id` integer not null primary key autoincrement, `created_at` datetime not null, `ip` text not null, `method` text not null, `path` text not null, `rule` text not null);',
    'create index `blocked_attempts_created_at_index` on `blocked_attempts` (`created_at`);',
  ],
  down: ['drop table `blocked_attempts`;', 'drop table `blocked_ips`;'],
}
