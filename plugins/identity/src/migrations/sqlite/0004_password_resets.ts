import type { MigrationStep } from '@parley/core'

/** Password reset links sent by mail: hashed, single-use, expiring. */
export const m0004PasswordResets: MigrationStep = {
  name: '0004_password_resets',
  up: [
    'create table `identity_password_resets` (`id` integer not null primary key autoincrement, `user_id` integer not null, `token_hash` text not null, `expires_at` datetime not null, `used_at` datetime null, `created_at` datetime not null);',
    'create index `identity_password_resets_user_id_index` on `identity_password_resets` (`user_id`);',
    'create unique index `identity_password_resets_token_hash_unique` on `identity_password_resets` (`token_hash`);',
    'create index `identity_password_resets_expires_at_index` on `identity_password_resets` (`expires_at`);',
  ],
  down: ['drop table `identity_password_resets`;'],
}
