import { UniqueConstraintViolationException, type EntityManager } from '@parley/core'
import { generateApiToken, sha256, tokenHint } from './api-token-format.js'
import { ApiToken, type ApiTokenRow } from './entities.js'
import { identityErrors } from './errors.js'
import type { Principals } from './principals.js'
import { applyTokenSettings, tokenSettingsOf, type TokenSettings, type TokenSettingsInput } from './token-settings.js'

export const CHAT_TOKEN_NAME = 'chat'

/** What `GET /api/tokens` lists: never the token itself. */
export interface TokenInfo extends TokenSettings {
  id: number
  name: string
  hint: string
  created_at: string
  last_used_at: string | null
}

/** What creation and regeneration answer: the plaintext, shown this once. */
export interface NewToken extends TokenInfo {
  token: string
}

/** API tokens of one user: every operation is scoped by the owner, so ids cannot be guessed across users. */
export class ApiTokens {
  constructor(private readonly principals: Principals) {}

  async list(em: EntityManager, userId: number): Promise<TokenInfo[]> {
    const rows = await em.find(ApiToken, { userId }, { orderBy: { id: 'asc' } })
    return rows.map(info)
  }

  async create(em: EntityManager, userId: number, name: string, settings: TokenSettingsInput = {}): Promise<NewToken> {
    if (await em.findOne(ApiToken, { userId, name }))
      throw identityErrors.PARLEY_ERR_IDENTITY_TOKEN_NAME_TAKEN({ name })
    const token = generateApiToken()
    const row = em.create(ApiToken, { userId, name, tokenHash: sha256(token), hint: tokenHint(token) })
    applyTokenSettings(row, settings)
    try {
      await em.flush()
    } catch (error) {
      // Two creations with one name at once: the check above passed for both, the index decides.
      if (error instanceof UniqueConstraintViolationException)
        throw identityErrors.PARLEY_ERR_IDENTITY_TOKEN_NAME_TAKEN({ name })
      throw error
    }
    return { ...info(row), token }
  }

  /** New secret for the same token record; the old secret stops working on every instance. */
  async regenerate(em: EntityManager, userId: number, id: number): Promise<NewToken> {
    const row = await em.findOne(ApiToken, { id, userId })
    if (!row) throw identityErrors.PARLEY_ERR_IDENTITY_TOKEN_NOT_FOUND()
    const oldHash = row.tokenHash
    const token = generateApiToken()
    row.tokenHash = sha256(token)
    row.hint = tokenHint(token)
    row.lastUsedAt = null
    await em.flush()
    await this.principals.forgetToken(oldHash)
    return { ...info(row), token }
  }

  /**
   * Changes a token's name or restrictions (fields left out keep their value); every instance
   * applies them from its next call. `resetUsed` starts its quota's count again from 0 (what this
   * instance counted is written first; another instance's last second of calls may still be
   * added). The portal's `chat` token is the portal's: not here.
   */
  async update(
    em: EntityManager,
    userId: number,
    id: number,
    changes: TokenSettingsInput & { name?: string; resetUsed?: boolean },
  ): Promise<TokenInfo> {
    const row = await em.findOne(ApiToken, { id, userId })
    if (!row) throw identityErrors.PARLEY_ERR_IDENTITY_TOKEN_NOT_FOUND()
    if (row.name === CHAT_TOKEN_NAME) throw identityErrors.PARLEY_ERR_IDENTITY_TOKEN_PROTECTED()
    const { name, resetUsed, ...settings } = changes
    if (name !== undefined && name !== row.name) {
      if (name === CHAT_TOKEN_NAME || (await em.findOne(ApiToken, { userId, name })))
        throw identityErrors.PARLEY_ERR_IDENTITY_TOKEN_NAME_TAKEN({ name })
      row.name = name
    }
    applyTokenSettings(row, settings)
    try {
      await em.flush()
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException)
        throw identityErrors.PARLEY_ERR_IDENTITY_TOKEN_NAME_TAKEN({ name: row.name })
      throw error
    }
    if (resetUsed) {
      await this.principals.quotas.flush()
      // A statement, not the entity: the counter's own statements changed the row behind it.
      await em.nativeUpdate(ApiToken, { id: row.id }, { usedTokens: 0 })
      row.usedTokens = 0
    }
    await this.principals.forgetToken(row.tokenHash)
    return info(row)
  }

  async delete(em: EntityManager, userId: number, id: number): Promise<void> {
    const row = await em.findOne(ApiToken, { id, userId })
    if (!row) throw identityErrors.PARLEY_ERR_IDENTITY_TOKEN_NOT_FOUND()
    await em.removeAndFlush(row)
    await this.principals.forgetToken(row.tokenHash)
  }

  /** The portal's token: created on first call, rotated (old one revoked) after. */
  async rotateChat(em: EntityManager, userId: number): Promise<NewToken> {
    const existing = await em.findOne(ApiToken, { userId, name: CHAT_TOKEN_NAME })
    return existing ? this.regenerate(em, userId, existing.id) : this.create(em, userId, CHAT_TOKEN_NAME)
  }
}

function info(row: ApiTokenRow): TokenInfo {
  return {
    id: row.id,
    name: row.name,
    hint: row.hint,
    created_at: row.createdAt.toISOString(),
    last_used_at: row.lastUsedAt ? row.lastUsedAt.toISOString() : null,
    ...tokenSettingsOf(row),
  }
}
