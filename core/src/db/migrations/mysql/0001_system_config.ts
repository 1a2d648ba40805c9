import type { MigrationStep } from '../../migrations.js'

export const m0001SystemConfig: MigrationStep = {
  name: '0001_system_config',
  up: [
    'create table `system_config` (`key` varchar(191) not null, `value` text not null, `updated_at` datetime not null, primary key (`key`)) default character set utf8mb4 engine = InnoDB;',
  ],
  down: ['drop table `system_config`;'],
}
