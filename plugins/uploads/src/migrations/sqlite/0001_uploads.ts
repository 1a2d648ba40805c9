import type { MigrationStep } from '@parley/core'

/** One row per presigned upload: key, owner, conversation, type, size, when it was made and first sent. */
export const m0001Uploads: MigrationStep = {
  name: '0001_uploads',
  up: [
    'create table `uploads` (`id` integer not null primary key autoincrement, `key` text not null, `owner` text not null, `conversation_id` text not null, `content_type` text not null, `size` integer not null, `created_at` datetime not null, `attached_at` datetime null);',
    'create unique index `uploads_key_unique` on `uploads` (`key`);',
    'create index `uploads_owner_conversation_id_index` on `uploads` (`owner`, `conversation_id`);',
    'create index `uploads_attached_at_created_at_index` on `uploads` (`attached_at`, `created_at`);',
  ],
  down: ['drop table `uploads`;'],
}
