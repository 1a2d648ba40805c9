import type { EntityManager, InferEntity } from '@parley/core'
import { User } from './entities.js'
import { identityErrors } from './errors.js'

export type UserRow = InferEntity<typeof User>
export type Role = 'root' | 'admin' | 'user'
export type Status = 'active' | 'disabled'

/** The wire shape of a user (Appendix A). Never the hash. */
export interface PublicUser {
  id: number
  email: string
  username: string
  role: Role
  group: string
}

const EMAIL =
  /^[^\s@"<>()[\],;:\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/
/**
 * Never in a username: control, format (zero-width and bidi controls such as U+202E among
 * them), surrogate, private-use and unassigned characters, and line and paragraph separators.
 */
const FORBIDDEN = /[\p{C}\u2028\u2029]/u

/** Trimmed and lower-cased, or a coded error saying the address is not valid. */
export function normaliseEmail(email: string): string {
  const value = email.trim().toLowerCase()
  if (value.length > 191 || !EMAIL.test(value)) throw identityErrors.PARLEY_ERR_IDENTITY_EMAIL_INVALID()
  return value
}

/**
 * The username as stored (NFKC: fullwidth and other compatibility forms become their plain
 * letters) and its key (NFKC, then case-folded), on which uniqueness and admin login rest, so
 * `ＡＤＭＩＮ`, `Admin` and `admin` are one name. Refuses invisible and direction-changing
 * characters.
 */
export function normaliseUsername(username: string): { username: string; key: string } {
  const value = username.normalize('NFKC').trim()
  const key = usernameKey(value)
  if ([...value].length < 2 || value.length > 64 || key.length > 64 || FORBIDDEN.test(value))
    throw identityErrors.PARLEY_ERR_IDENTITY_USERNAME_INVALID()
  return { username: value, key }
}

/**
 * NFKC, then a full case fold (upper then lower: `ß` and `SS` meet at `ss`), then NFKC again
 * (folding can denormalise). Also what admin login looks a typed username up by.
 */
export function usernameKey(username: string): string {
  return username.normalize('NFKC').trim().toUpperCase().toLowerCase().normalize('NFKC')
}

export function toPublicUser(user: UserRow): PublicUser {
  return { id: user.id, email: user.email, username: user.username, role: user.role as Role, group: user.groupName }
}

export async function findUser(em: EntityManager, id: number): Promise<UserRow | null> {
  return em.findOne(User, { id })
}

/** Checks email and username are free; the unique indexes still decide a race. */
export async function assertAvailable(
  em: EntityManager,
  fields: { email?: string; usernameKey?: string },
  exceptId?: number,
): Promise<void> {
  if (fields.email !== undefined) {
    const taken = await em.findOne(User, { email: fields.email })
    if (taken && taken.id !== exceptId) throw identityErrors.PARLEY_ERR_IDENTITY_EMAIL_TAKEN()
  }
  if (fields.usernameKey !== undefined) {
    const taken = await em.findOne(User, { usernameKey: fields.usernameKey })
    if (taken && taken.id !== exceptId) throw identityErrors.PARLEY_ERR_IDENTITY_USERNAME_TAKEN()
  }
}

/** Maps a unique-index violation to the field it concerns. */
export function uniqueViolation(error: unknown): Error {
  // The exception's message starts with the SQL, which names every column, so only the
  // driver's own words (after the last " - " on SQLite) say which index failed; they end with
  // it: `identity_users.username_key` (SQLite), `...identity_users_username_key_unique'` (MySQL).
  const { message = '', sqlMessage } = error as { message?: string; sqlMessage?: string }
  const reason = (sqlMessage ?? message.slice(message.lastIndexOf(' - ') + 3)).trim()
  return /username_key(?:_unique)?'?$/.test(reason)
    ? identityErrors.PARLEY_ERR_IDENTITY_USERNAME_TAKEN()
    : identityErrors.PARLEY_ERR_IDENTITY_EMAIL_TAKEN()
}
