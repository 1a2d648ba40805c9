import type { Logger } from '../logger.js'

/**
 * Events other plugins may react to. Core's own areas and plugins add theirs by declaration
 * merging (`retention.finished`: retention/job.ts):
 *
 * @example
 * declare module '@parley/core' {
 *   interface ParleyEvents { 'ticket.created': { ticketId: string } }
 * }
 */
export interface ParleyEvents {
  'settings.changed': { readonly key: string }
}

export type EventHandler<T> = (payload: T) => void | Promise<void>

/**
 * In-process publish/subscribe between plugins. A handler's failure is logged and never
 * reaches the emitter: an event is a notification, not a transaction.
 */
export class EventBus {
  readonly #handlers = new Map<string, Set<EventHandler<never>>>()

  constructor(private readonly log: Logger) {}

  on<K extends keyof ParleyEvents>(name: K, handler: EventHandler<ParleyEvents[K]>): () => void {
    const set = this.#handlers.get(name) ?? new Set()
    set.add(handler as EventHandler<never>)
    this.#handlers.set(name, set)
    return () => set.delete(handler as EventHandler<never>)
  }

  emit<K extends keyof ParleyEvents>(name: K, payload: ParleyEvents[K]): void {
    for (const handler of this.#handlers.get(name) ?? []) {
      try {
        const result = (handler as EventHandler<ParleyEvents[K]>)(payload)
        if (result instanceof Promise) result.catch(error => this.fail(name, error))
      } catch (error) {
        this.fail(name, error)
      }
    }
  }

  private fail(name: string, error: unknown): void {
    this.log.error({ event: name, err: error }, 'event handler failed')
  }
}
