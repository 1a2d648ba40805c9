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

export function checkPasswordStrength(password: string): void {
  if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX || password.trim().length === 0) {
    throw identityErrors.PARLEY_ERR_IDENTITY_PASSWORD_WEAK({ min: PASSWORD_MIN, max: PASSWORD_MAX })
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
