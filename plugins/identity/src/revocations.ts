import type { KeyValueStore } from '@parley/core'
import { identityErrors } from './errors.js'
import type { VerifiedClaims } from './jwt.js'

const PREFIX = 'identity:revoked:'

/**
 * Signed-out admin console tokens, listed by `jti` in the KV store (Redis when configured, so
 * every instance sees a sign-out) until the token would have expired anyway. A password change
 * needs no list: it raises the user's session epoch, which every token carries.
 */
export class Revocations {
  constructor(private readonly kv: KeyValueStore) {}

  /** Lists the token until its expiry; rejects with 503 when the store cannot record it. */
  async revoke(claims: VerifiedClaims): Promise<void> {
    if (claims.jti === undefined) return
    const ttlMs = Math.max(1000, claims.expiresAt - Date.now() + 1000)
    try {
      await this.kv.set(PREFIX + claims.jti, '1', { ttlMs })
    } catch {
      throw identityErrors.PARLEY_ERR_IDENTITY_SESSIONS_DOWN()
    }
  }

  /** Refuses a listed token; fails closed (503) when the list cannot be read. */
  async assertLive(claims: VerifiedClaims): Promise<void> {
    if (claims.jti === undefined) return
    let listed: string | null
    try {
      listed = await this.kv.get(PREFIX + claims.jti)
    } catch {
      throw identityErrors.PARLEY_ERR_IDENTITY_SESSIONS_DOWN()
    }
    if (listed !== null) throw identityErrors.PARLEY_ERR_IDENTITY_TOKEN_INVALID()
  }
}
