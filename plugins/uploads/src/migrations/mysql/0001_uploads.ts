import type { MigrationStep } from '@parley/core'

/** One row per presigned upload: key, owner, conversation, type, size, when it was made and first sent. */
export const m0001Uploads: MigrationStep = {
  name: '0001_uploads',
  up: [
    'create table `uploads` (`id` int unsigned not null auto_increment primary key, `key` varchar(255) not null, `owner` varchar(191) not null, `conversation_id` varchar(64) not null, `content_type` varchar(64) not null, `size` int not null, `created_at` datetime not null, `attached_at` datetime null) default character set utf8mb4 engine = InnoDB;',
    'alter table `uploads` add unique `uploads_key_unique`(`key`);',
    'alter table `uploads` add index `uploads_owner_conversation_id_index`(`owner`, `conversation_id`);',
    'alter table `uploads` add index `uploads_attached_at_created_at_index`(`attached_at`, `created_at`);',
  ],
  down: ['drop table `uploads`;'],
}
