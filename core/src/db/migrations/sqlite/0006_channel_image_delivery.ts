import type { MigrationStep } from '../../migrations.js'

/** How each channel's upstream gets stored images (`parley-object://`): `auto`, `url` or `inline`. */
export const m0006ChannelImageDelivery: MigrationStep = {
  name: '0006_channel_image_delivery',
  up: ["alter table `catalog_channels` add column `image_delivery` text not null default 'auto';"],
  down: ['alter table `catalog_channels` drop column `image_delivery`;'],
}
