import type { MigrationStep } from '../../migrations.js'

/** Each channel's own upstream timeouts in ms; null: the gateway's `upstream.*_timeout_ms`. */
export const m0008ChannelTimeouts: MigrationStep = {
  name: '0008_channel_timeouts',
  up: [
    'alter table `catalog_channels` add column `connect_timeout_ms` integer null;',
    'alter table `catalog_channels` add column `first_byte_timeout_ms` integer null;',
    'alter table `catalog_channels` add column `idle_timeout_ms` integer null;',
  ],
  down: [
    'alter table `catalog_channels` drop column `idle_timeout_ms`;',
    'alter table `catalog_channels` drop column `first_byte_timeout_ms`;',
    'alter table `catalog_channels` drop column `connect_timeout_ms`;',
  ],
}
