import { randomBytes, randomUUID } from 'node:crypto'
import type { EntityManager } from '@parley/core'
import { sha256 } from './api-token-format.js'
import { RefreshToken, User } from './entities.js'
import { identityErrors } from './errors.js'
import type { AccessTokens } from './jwt.js'
import { toPublicUser, type PublicUser, type UserRow } from './users.js'

export interface SessionPolicy {
  readonly accessTtlSeconds: number
  readonly refreshTtlDays: number
}

/** The answer of register, login, refresh and password change (Appendix A). */
export interface TokenPair {
  access_token: string
  refresh_token: string
  token_type: 'bearer'
  expires_in: number
  user: PublicUser
}

/**
 * Sign-in sessions: a short-lived JWT plus an opaque refresh token stored as SHA-256, rotated
 * on every use. A revoked token presented again means it was stolen or replayed, so its whole
 * family (every rotation of that sign-in) is revoked.
 */
export class Sessions {
  constructor(
    private readonly tokens: AccessTokens,
    private readonly policy: SessionPolicy,
  ) {}

  async issue(em: EntityManager, user: UserRow, familyId: string = randomUUID()): Promise<TokenPair> {
    const refresh = randomBytes(32).toString('base64url')
    em.create(RefreshToken, {
      tokenHash: sha256(refresh),
      userId: user.id,
      familyId,
      expiresAt: new Date(Date.now() + this.policy.refreshTtlDays * 86_400_000),
    })
    await em.flush()
    return {
      access_token: await this.tokens.sign(
        { sub: String(user.id), scope: 'session', epoch: user.sessionEpoch },
        this.policy.accessTtlSeconds,
      ),
      refresh_token: refresh,
      token_type: 'bearer',
      expires_in: this.policy.accessTtlSeconds,
      user: toPublicUser(user),
    }
  }

  /** Trades a refresh token for a new pair; the old one is revoked atomically. */
  async rotate(em: EntityManager, refreshToken: string): Promise<TokenPair> {
    const row = await em.findOne(RefreshToken, { tokenHash: sha256(refreshToken) })
    if (!row) throw identityErrors.PARLEY_ERR_IDENTITY_REFRESH_INVALID()
    if (row.revokedAt) {
      await this.revokeFamily(em, row.familyId)
      throw identityErrors.PARLEY_ERR_IDENTITY_REFRESH_INVALID()
    }
    if (row.expiresAt.getTime() <= Date.now()) throw identityErrors.PARLEY_ERR_IDENTITY_REFRESH_INVALID()
    // Only one of two concurrent rotations of the same token may win; the loser is a reuse.
    const won = await em.nativeUpdate(RefreshToken, { id: row.id, revokedAt: null }, { revokedAt: new Date() })
    if (won !== 1) {
      await this.revokeFamily(em, row.familyId)
      throw identityErrors.PARLEY_ERR_IDENTITY_REFRESH_INVALID()
    }
    const user = await em.findOne(User, { id: row.userId })
    if (!user || user.status !== 'active') throw identityErrors.PARLEY_ERR_IDENTITY_REFRESH_INVALID()
    return this.issue(em, user, row.familyId)
  }

  /** Logout: revokes this token only; unknown or already revoked tokens change nothing. */
  async revoke(em: EntityManager, refreshToken: string): Promise<void> {
    await em.nativeUpdate(RefreshToken, { tokenHash: sha256(refreshToken), revokedAt: null }, { revokedAt: new Date() })
  }

  /** Password change, disabling, role change: every session of the user ends. */
  async revokeAll(em: EntityManager, userId: number): Promise<void> {
    await em.nativeUpdate(RefreshToken, { userId, revokedAt: null }, { revokedAt: new Date() })
  }

  private async revokeFamily(em: EntityManager, familyId: string): Promise<void> {
    await em.nativeUpdate(RefreshToken, { familyId, revokedAt: null }, { revokedAt: new Date() })
  }
}
