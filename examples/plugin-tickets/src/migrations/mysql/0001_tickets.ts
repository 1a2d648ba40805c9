import type { MigrationStep } from '@parley/core'

/** The three tables of the tickets plugin (mysql), written from `pendingSchemaChanges` (docs/plugins.md). */
export const m0001Tickets: MigrationStep = {
  name: '0001_tickets',
  up: [
    'create table `tickets_attachments` (`id` int unsigned not null auto_increment primary key, `ticket_id` int not null, `message_id` int not null, `storage_key` varchar(255) not null, `filename` varchar(200) not null, `content_type` varchar(100) not null, `size` int not null) default character set utf8mb4 engine = InnoDB;',
    'alter table `tickets_attachments` add index `tickets_attachments_ticket_id_index`(`ticket_id`);',
    'create table `tickets_messages` (`id` int unsigned not null auto_increment primary key, `ticket_id` int not null, `author` varchar(16) not null, `author_name` varchar(100) not null, `body` text not null, `created_at` datetime not null) default character set utf8mb4 engine = InnoDB;',
    'alter table `tickets_messages` add index `tickets_messages_ticket_id_index`(`ticket_id`);',
    "create table `tickets_tickets` (`id` int unsigned not null auto_increment primary key, `user_id` varchar(64) not null, `user_name` varchar(100) not null, `subject` varchar(200) not null, `status` varchar(16) not null default 'open', `unread` tinyint(1) not null default false, `created_at` datetime not null, `updated_at` datetime not null) default character set utf8mb4 engine = InnoDB;",
    'alter table `tickets_tickets` add index `tickets_tickets_user_id_index`(`user_id`);',
    'alter table `tickets_tickets` add index `tickets_tickets_status_index`(`status`);',
    'alter table `tickets_tickets` add index `tickets_tickets_updated_at_index`(`updated_at`);',
  ],
  down: ['drop table `tickets_attachments`;', 'drop table `tickets_messages`;', 'drop table `tickets_tickets`;'],
}
