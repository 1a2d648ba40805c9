import {
  errors,
  type ChatService,
  objectKeysIn,
  requireUser,
  type FastifyRequest,
  type HttpScope,
  type Logger,
  type ObjectRefs,
  type Principal,
} from '@parley/core'
import { conversationErrors } from './errors.js'
import type { Sender } from './sender.js'
import type { ConversationOwner, MessageContent, StoredMessage } from './service.js'
import type { ConversationStore } from './store.js'
import type { Targets } from './targets.js'
import type { Titles } from './titles.js'

/** What the routes share. */
export interface Conversations {
  readonly http: HttpScope
  readonly log: Logger
  readonly store: ConversationStore
  readonly sender: Sender
  readonly titles: Titles
  readonly targets: Targets
  readonly chat: () => ChatService
  /** Resolved after setup (TOKENS.objects). */
  readonly objects: () => ObjectRefs
}

/** The caller as an owner: a signed-in user (session or API token). Guests have no server history. */
export async function callerOf(request: FastifyRequest): Promise<{ principal: Principal; owner: ConversationOwner }> {
  const found = await request.principal()
  if (found?.kind === 'guest') throw conversationErrors.PARLEY_ERR_CONVERSATION_GUEST()
  const principal = await requireUser(request, { apiTokens: true })
  return { principal, owner: { kind: 'user', id: principal.userId } }
}

/** Refuses a question that refers to a stored image the caller does not own (another user's key). */
export function checkObjects(objects: ObjectRefs, principal: Principal, content: MessageContent): void {
  for (const key of objectKeysIn([{ content }]))
    if (!objects.owns(principal, key)) throw errors.PARLEY_ERR_OBJECT_NOT_FOUND({ key: JSON.stringify(key) })
}

/**
 * A message as its owner reads it: stored-image references become short-lived URLs. The
 * database keeps the reference; a reference that cannot be signed (no storage) stays as it is.
 */
export async function readable(
  objects: ObjectRefs,
  principal: Principal,
  message: StoredMessage,
  log: Logger,
): Promise<StoredMessage> {
  if (typeof message.content === 'string') return message
  try {
    return { ...message, content: await objects.forClient(message.content, principal) }
  } catch (error) {
    log.warn({ err: error, message_id: message.id }, 'an image reference could not be signed')
    return message
  }
}
