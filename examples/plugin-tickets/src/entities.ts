import { defineEntity, type InferEntity } from '@parley/core'

/** A support ticket one user opened; admins answer it and close it. */
export const Ticket = defineEntity({
  name: 'TicketsTicket',
  tableName: 'tickets_tickets',
  properties: p => ({
    /** Surrogate key, shown to the user as the ticket number. */
    id: p.integer().primary().autoincrement(),
    /** The owner (the principal's user id): every user route filters by it. */
    userId: p.string().length(64).index(),
    /** The owner's display name, for the console's list. */
    userName: p.string().length(100),
    /** A one-line summary the user gives. */
    subject: p.string().length(200),
    /** `open` (waiting for an admin), `answered` (waiting for the user) or `closed`. */
    status: p.string().length(16).default('open').index(),
    /** An admin answered or closed it since the user last looked: the portal's notification. */
    unread: p.boolean().default(false),
    /** When it was opened. */
    createdAt: p.datetime().onCreate(() => new Date()),
    /** The last message or change: the idle job closes tickets by it. */
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .index(),
  }),
})
export type Ticket = InferEntity<typeof Ticket>

/** One message of a ticket's thread, from its owner or an admin. */
export const TicketMessage = defineEntity({
  name: 'TicketsMessage',
  tableName: 'tickets_messages',
  properties: p => ({
    /** Surrogate key; orders the thread. */
    id: p.integer().primary().autoincrement(),
    /** The ticket it belongs to. */
    ticketId: p.integer().index(),
    /** `user` or `admin`: who wrote it, as the thread shows it. */
    author: p.string().length(16),
    /** The admin's name on an answer (the user's is the ticket's). */
    authorName: p.string().length(100),
    /** The text, bounded by the `tickets.max_body` setting. */
    body: p.text(),
    /** When it was written. */
    createdAt: p.datetime().onCreate(() => new Date()),
  }),
})
export type TicketMessage = InferEntity<typeof TicketMessage>

/** A file attached to a message; the bytes live in the object storage under `storageKey`. */
export const TicketAttachment = defineEntity({
  name: 'TicketsAttachment',
  tableName: 'tickets_attachments',
  properties: p => ({
    /** Surrogate key, in the download URL. */
    id: p.integer().primary().autoincrement(),
    /** The ticket, checked against the caller before a download. */
    ticketId: p.integer().index(),
    /** The message it came with. */
    messageId: p.integer(),
    /** The object's key in the storage (`tickets/<ticket>/<random>`). */
    storageKey: p.string().length(255),
    /** The name the user gave, sent back as the download's file name. */
    filename: p.string().length(200),
    /** Checked on upload; sent back on download. */
    contentType: p.string().length(100),
    /** Bytes, shown in the thread. */
    size: p.integer(),
  }),
})
export type TicketAttachment = InferEntity<typeof TicketAttachment>
