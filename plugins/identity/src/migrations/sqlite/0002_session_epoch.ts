import type { MigrationStep } from '@parley/core'

/** The per-user session epoch: a password change raises it and every older access token ends. */
export const m0002SessionEpoch: MigrationStep = {
  name: '0002_session_epoch',
  up: ['alter table `identity_users` add column `session_epoch` integer not null default 0;'],
  down: ['alter table `identity_users` drop column `session_epoch`;'],
}
