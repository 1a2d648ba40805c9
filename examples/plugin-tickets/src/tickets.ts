import type { EntityManager, EventBus, ObjectStorage } from '@parley/core'
import { checkAttachments, storeAttachments, type AttachmentInput } from './attachments.js'
import { Ticket, TicketAttachment, TicketMessage } from './entities.js'
import { errors } from './errors.js'
import type { TicketOptions } from './options.js'
import type { TicketSettings } from './settings.js'
import { threadView } from './views.js'

/** Who writes: the owner, or an admin answering. */
export interface Author {
  readonly role: 'user' | 'admin'
  readonly userId: string
  readonly name: string
}

export interface NewMessage {
  readonly body: string
  readonly attachments?: readonly AttachmentInput[]
}

declare module '@parley/core' {
  interface ParleyEvents {
    'tickets.answered': { ticketId: number; userId: string }
  }
}

/** The tickets' rules, shared by the user's and the admin's routes. */
export class Tickets {
  constructor(
    private readonly em: () => EntityManager,
    private readonly storage: ObjectStorage,
    private readonly settings: TicketSettings,
    private readonly options: TicketOptions,
    private readonly events: EventBus,
  ) {}

  /**
   * Opens a ticket, within the limits: open tickets per user, new tickets per UTC day. The rows
   * are written in one transaction, so a failure (of the storage, say) leaves no half ticket.
   */
  async open(author: Author, subject: string, first: NewMessage): Promise<Ticket> {
    const checked = this.#check(first)
    return this.em().transactional(async em => {
      const maxOpen = this.settings.maxOpen.get()
      if ((await em.count(Ticket, { userId: author.userId, status: { $ne: 'closed' } })) >= maxOpen)
        throw errors.PARLEY_ERR_TICKETS_TOO_MANY_OPEN({ max: maxOpen })
      const today = new Date()
      today.setUTCHours(0, 0, 0, 0)
      const perDay = this.settings.perDay.get()
      if ((await em.count(Ticket, { userId: author.userId, createdAt: { $gte: today } })) >= perDay)
        throw errors.PARLEY_ERR_TICKETS_RATE({ max: perDay })
      const ticket = em.create(Ticket, { userId: author.userId, userName: author.name, subject })
      await em.flush()
      await this.#write(em, ticket, author, first, checked)
      return ticket
    })
  }

  /** A ticket the caller may see: its owner's, or any for an admin; 404 otherwise. */
  async find(em: EntityManager, id: number, owner: string | undefined): Promise<Ticket> {
    const ticket = await em.findOne(Ticket, owner === undefined ? { id } : { id, userId: owner })
    if (!ticket) throw errors.PARLEY_ERR_TICKETS_NOT_FOUND()
    return ticket
  }

  /** The whole thread; the owner reading it clears the notification. */
  async thread(id: number, owner: string | undefined) {
    const em = this.em()
    const ticket = await this.find(em, id, owner)
    if (owner !== undefined && ticket.unread) {
      ticket.unread = false
      await em.flush()
    }
    const messages = await em.find(TicketMessage, { ticketId: id }, { orderBy: { id: 'asc' } })
    const files = await em.find(TicketAttachment, { ticketId: id }, { orderBy: { id: 'asc' } })
    return threadView(ticket, messages, files)
  }

  /** A reply: the owner's reopens an answered ticket, an admin's marks it answered and notifies. */
  async reply(id: number, author: Author, message: NewMessage): Promise<Ticket> {
    const checked = this.#check(message)
    const ticket = await this.em().transactional(async em => {
      const ticket = await this.find(em, id, author.role === 'user' ? author.userId : undefined)
      if (ticket.status === 'closed') throw errors.PARLEY_ERR_TICKETS_CLOSED()
      ticket.status = author.role === 'admin' ? 'answered' : 'open'
      ticket.unread = author.role === 'admin'
      await this.#write(em, ticket, author, message, checked)
      return ticket
    })
    if (author.role === 'admin') this.events.emit('tickets.answered', { ticketId: id, userId: ticket.userId })
    return ticket
  }

  /** Closes a ticket: its owner's own, or any for an admin (the owner is then notified). */
  async close(id: number, author: Author): Promise<Ticket> {
    const em = this.em()
    const ticket = await this.find(em, id, author.role === 'user' ? author.userId : undefined)
    if (ticket.status !== 'closed') {
      ticket.status = 'closed'
      ticket.unread = author.role === 'admin'
      ticket.updatedAt = new Date()
      await em.flush()
    }
    return ticket
  }

  #check(message: NewMessage) {
    const max = this.settings.maxBody.get()
    if (message.body.length > max) throw errors.PARLEY_ERR_TICKETS_TOO_LONG({ max })
    return checkAttachments(message.attachments ?? [], this.options)
  }

  async #write(
    em: EntityManager,
    ticket: Ticket,
    author: Author,
    message: NewMessage,
    checked: ReturnType<typeof checkAttachments>,
  ): Promise<void> {
    const row = em.create(TicketMessage, {
      ticketId: ticket.id,
      author: author.role,
      authorName: author.name,
      body: message.body,
    })
    ticket.updatedAt = new Date()
    await em.flush()
    await storeAttachments(this.storage, em, ticket.id, row.id, checked)
    await em.flush()
  }
}
