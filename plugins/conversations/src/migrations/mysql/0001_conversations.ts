import type { MigrationStep } from '@parley/core'

/** Conversations and their messages, indexed for the owner's list and the sweep of stale answers. */
export const m0001Conversations: MigrationStep = {
  name: '0001_conversations',
  up: [
    "create table `conversations` (`id` int unsigned not null auto_increment primary key, `owner_kind` varchar(16) not null, `owner_id` varchar(191) not null, `model` varchar(191) null, `model_config_id` int null, `title` varchar(255) not null default '', `title_source` varchar(16) not null default 'none', `archived` tinyint(1) not null default false, `created_at` datetime not null, `updated_at` datetime not null) default character set utf8mb4 engine = InnoDB;",
    'alter table `conversations` add index `conversations_owner_kind_owner_id_updated_at_index`(`owner_kind`, `owner_id`, `updated_at`);',
    'alter table `conversations` add index `conversations_updated_at_index`(`updated_at`);',
    'create table `conversations_messages` (`id` int unsigned not null auto_increment primary key, `conversation_id` int not null, `role` varchar(16) not null, `content` mediumtext not null, `status` varchar(16) not null, `prompt_tokens` int null, `completion_tokens` int null, `error_type` varchar(64) null, `created_at` datetime not null) default character set utf8mb4 engine = InnoDB;',
    'alter table `conversations_messages` add index `conversations_messages_conversation_id_id_index`(`conversation_id`, `id`);',
    'alter table `conversations_messages` add index `conversations_messages_status_created_at_index`(`status`, `created_at`);',
  ],
  down: ['drop table `conversations_messages`;', 'drop table `conversations`;'],
}
