import type { MigrationStep } from '../../migrations.js'

/** Why and when the gateway disabled a channel key (repeated auth refusals); null for the others. */
export const m0007ChannelKeyDisable: MigrationStep = {
  name: '0007_channel_key_disable',
  up: ['alter table `catalog_channel_keys` add `disabled_reason` varchar(32) null, add `disabled_at` datetime null;'],
  down: ['alter table `catalog_channel_keys` drop column `disabled_reason`, drop column `disabled_at`;'],
}
