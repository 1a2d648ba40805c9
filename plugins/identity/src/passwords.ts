import argon2 from 'argon2'
import { identityErrors } from './errors.js'

/** OWASP Password Storage Cheat Sheet: argon2id, 19 MiB, 2 iterations, 1 lane. */
const ARGON2 = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const
export const PASSWORD_MIN = 8
/** Bounds the work one request can cause; longer passphrases add nothing to the hash. */
export const PASSWORD_MAX = 256

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, ARGON2)
}

/** Verifies, and says whether the stored hash should be upgraded to the current parameters. */
export async function verifyPassword(hash: string, password: string): Promise<{ ok: boolean; rehash: boolean }> {
  let ok = false
  try {
    ok = await argon2.verify(hash, password)
  } catch {
    ok = false // a malformed stored hash never signs anyone in
  }
  return { ok, rehash: ok && argon2.needsRehash(hash, ARGON2) }
}

/**
 * The common-password list of zxcvbn-ts (`@zxcvbn-ts/language-common`, MIT, about 49,000
 * passwords from breach corpora, most frequent first), lower-cased. Imported and built on first
 * use: the package holds about 11 MB that a gateway whose passwords are all set never needs.
 */
let common: Promise<ReadonlySet<string>> | undefined
function commonPasswords(): Promise<ReadonlySet<string>> {
  common ??= import('@zxcvbn-ts/language-common').then(
    ({ dictionary }) => new Set(dictionary['passwords-common'].map(entry => entry.toLowerCase())),
  )
  return common
}

/** Identifiers shorter than this are refused as the whole password only, not as a part of one. */
const PERSONAL_MIN = 3

/**
 * Refuses a password that is too short or long, on the common-password list (case-insensitive),
 * or that contains the account's username or its email's local part (case-insensitive), or is
 * the email. Called wherever a password is set: register, password change, admin-created users.
 */
export async function checkPasswordStrength(
  password: string,
  account: { email?: string; username?: string } = {},
): Promise<void> {
  if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX || password.trim().length === 0) {
    throw identityErrors.PARLEY_ERR_IDENTITY_PASSWORD_WEAK({ min: PASSWORD_MIN, max: PASSWORD_MAX })
  }
  const folded = password.normalize('NFKC').toLowerCase()
  const listed = await commonPasswords()
  if (listed.has(password.toLowerCase()) || listed.has(folded)) {
    throw identityErrors.PARLEY_ERR_IDENTITY_PASSWORD_COMMON()
  }
  const email = account.email?.toLowerCase()
  const personal = [account.username, email?.slice(0, email.lastIndexOf('@'))]
    .filter((value): value is string => value !== undefined)
    .map(value => value.normalize('NFKC').toLowerCase().trim())
  if (
    (email !== undefined && folded === email) ||
    personal.some(
      value => value.length > 0 && (value.length >= PERSONAL_MIN ? folded.includes(value) : folded === value),
    )
  ) {
    throw identityErrors.PARLEY_ERR_IDENTITY_PASSWORD_PERSONAL()
  }
}

/**
 * A hash verified for unknown emails, so "no such email" costs the same time as "wrong
 * password" and response timing does not reveal which accounts exist.
 */
export class TimingShield {
  #dummy: Promise<string> | undefined

  async burn(password: string): Promise<void> {
    this.#dummy ??= hashPassword('parley-timing-shield-never-a-real-password')
    await verifyPassword(await this.#dummy, password)
  }
}
