import type { MigrationStep } from '@parley/core'

/** Which instance streams an answer: a restarted or crashed instance's answers are failed by the sweep. */
export const m0002MessageRunner: MigrationStep = {
  name: '0002_message_runner',
  up: ['alter table `conversations_messages` add `runner` varchar(36) null;'],
  down: ['alter table `conversations_messages` drop column `runner`;'],
}
