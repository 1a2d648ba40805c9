import type { MigrationStep } from '../../migrations.js'

/** Blocked addresses and ranges, and every attempt they refused. */
export const m0004Blocklist: MigrationStep = {
  name: '0004_blocklist',
  up: [
    "create table `blocked_ips` (`id` int unsigned not null auto_increment primary key, `rule` varchar(64) not null, `reason` varchar(255) not null default '', `created_by` varchar(64) not null default '', `created_at` datetime not null) default character set utf8mb4 engine = InnoDB;",
    'alter table `blocked_ips` add unique `blocked_ips_rule_unique`(`rule`);',
    'create table `blocked_attempts` (`id` int unsigned not null auto_increment primary key, `created_at` datetime not null, `ip` varchar(45) not null, `method` varchar(10) not null, `path` varchar(255) not null, `rule` varchar(64) not null) default character set utf8mb4 engine = InnoDB;',
    'alter table `blocked_attempts` add index `blocked_attempts_created_at_index`(`created_at`);',
  ],
  down: ['drop table `blocked_attempts`;', 'drop table `blocked_ips`;'],
}
