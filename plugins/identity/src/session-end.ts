import type { EntityManager } from '@parley/core'
import type { Identity } from './context.js'
import type { UserRow } from './users.js'

/**
 * Saves a new password (already set on `user`) and ends every session of the user on every
 * instance: access tokens carry the old epoch, refresh tokens are revoked, and the cached user
 * is dropped through the KV channel. Own change, admin reset and reset link alike.
 */
export async function endSessions(identity: Identity, em: EntityManager, user: UserRow): Promise<void> {
  user.sessionEpoch += 1
  await em.flush()
  await identity.sessions.revokeAll(em, user.id)
  await identity.principals.forgetUser(user.id)
}
