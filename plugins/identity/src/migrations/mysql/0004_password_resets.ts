import type { MigrationStep } from '@parley/core'

/** Password reset links sent by mail: hashed, single-use, expiring. */
export const m0004PasswordResets: MigrationStep = {
  name: '0004_password_resets',
  up: [
    'create table `identity_password_resets` (`id` int unsigned not null auto_increment primary key, `user_id` int not null, `token_hash` varchar(64) not null, `expires_at` datetime not null, `used_at` datetime null, `created_at` datetime not null) default character set utf8mb4 engine = InnoDB;',
    'alter table `identity_password_resets` add index `identity_password_resets_user_id_index`(`user_id`);',
    'alter table `identity_password_resets` add unique `identity_password_resets_token_hash_unique`(`token_hash`);',
    'alter table `identity_password_resets` add index `identity_password_resets_expires_at_index`(`expires_at`);',
  ],
  down: ['drop table `identity_password_resets`;'],
}
