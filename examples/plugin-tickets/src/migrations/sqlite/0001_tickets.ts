import type { MigrationStep } from '@parley/core'

/** The three tables of the tickets plugin (sqlite), written from `pendingSchemaChanges` (docs/plugins.md). */
export const m0001Tickets: MigrationStep = {
  name: '0001_tickets',
  up: [
    'create table `tickets_attachments` (`id` integer not null primary key autoincrement, `ticket_id` integer not null, `message_id` integer not null, `storage_key` text not null, `filename` text not null, `content_type` text not null, `size` integer not null);',
    'create index `tickets_attachments_ticket_id_index` on `tickets_attachments` (`ticket_id`);',
    'create table `tickets_messages` (`id` integer not null primary key autoincrement, `ticket_id` integer not null, `author` text not null, `author_name` text not null, `body` text not null, `created_at` datetime not null);',
    'create index `tickets_messages_ticket_id_index` on `tickets_messages` (`ticket_id`);',
    "create table `tickets_tickets` (`id` integer not null primary key autoincrement, `user_id` text not null, `user_name` text not null, `subject` text not null, `status` text not null default 'open', `unread` integer not null default false, `created_at` datetime not null, `updated_at` datetime not null);",
    'create index `tickets_tickets_user_id_index` on `tickets_tickets` (`user_id`);',
    'create index `tickets_tickets_status_index` on `tickets_tickets` (`status`);',
    'create index `tickets_tickets_updated_at_index` on `tickets_tickets` (`updated_at`);',
  ],
  down: ['drop table `tickets_attachments`;', 'drop table `tickets_messages`;', 'drop table `tickets_tickets`;'],
}
