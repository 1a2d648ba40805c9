import type { MigrationStep } from '@parley/core'

/** Conversations and their messages, indexed for the owner's list and the sweep of stale answers. */
export const m0001Conversations: MigrationStep = {
  name: '0001_conversations',
  up: [
    "create table `conversations` (`id` integer not null primary key autoincrement, `owner_kind` text not null, `owner_id` text not null, `model` text null, `model_config_id` integer null, `title` text not null default '', `title_source` text not null default 'none', `archived` integer not null default false, `created_at` datetime not null, `updated_at` datetime not null);",
    'create index `conversations_owner_kind_owner_id_updated_at_index` on `conversations` (`owner_kind`, `owner_id`, `updated_at`);',
    'create index `conversations_updated_at_index` on `conversations` (`updated_at`);',
    'create table `conversations_messages` (`id` integer not null primary key autoincrement, `conversation_id` integer not null, `role` text not null, `content` mediumtext not null, `status` text not null, `prompt_tokens` integer null, `completion_tokens` integer null, `error_type` text null, `created_at` datetime not null);',
    'create index `conversations_messages_conversation_id_id_index` on `conversations_messages` (`conversation_id`, `id`);',
    'create index `conversations_messages_status_created_at_index` on `conversations_messages` (`status`, `created_at`);',
  ],
  down: ['drop table `conversations_messages`;', 'drop table `conversations`;'],
}
