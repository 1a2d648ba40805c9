import { Type } from '@parley/core'
import type { ApiTokenRow } from './entities.js'
import { identityErrors } from './errors.js'
import { normaliseAllowedIps, normaliseModels } from './token-limits.js'

/** A token's restrictions on the wire (docs/identity.md, API tokens); null: no such restriction. */
export interface TokenSettings {
  enabled: boolean
  expires_at: string | null
  models: string[] | null
  allowed_ips: string[] | null
  rpm: number | null
  quota: number | null
  /** Tokens used while it had a quota. */
  used_tokens: number
}

export type TokenSettingsInput = Partial<Omit<TokenSettings, 'used_tokens'>>

/** What create and update accept, each optional; also the OpenAPI document's. */
export const TokenSettingsBody = {
  enabled: Type.Optional(Type.Boolean()),
  expires_at: Type.Optional(Type.Union([Type.String({ format: 'date-time', maxLength: 64 }), Type.Null()])),
  models: Type.Optional(
    Type.Union([Type.Array(Type.String({ minLength: 1, maxLength: 191 }), { maxItems: 200 }), Type.Null()]),
  ),
  allowed_ips: Type.Optional(
    Type.Union([Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 100 }), Type.Null()]),
  ),
  rpm: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000 }), Type.Null()])),
  quota: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }), Type.Null()])),
}

export const TokenSettingsSchema = {
  enabled: Type.Boolean(),
  expires_at: Type.Union([Type.String(), Type.Null()]),
  models: Type.Union([Type.Array(Type.String()), Type.Null()]),
  allowed_ips: Type.Union([Type.Array(Type.String()), Type.Null()]),
  rpm: Type.Union([Type.Integer(), Type.Null()]),
  quota: Type.Union([Type.Integer(), Type.Null()]),
  used_tokens: Type.Integer(),
}

/** Checks every given field first, then sets them: a refused change changes nothing. */
export function applyTokenSettings(row: ApiTokenRow, input: TokenSettingsInput): void {
  let expiresAt: Date | null | undefined
  if (input.expires_at !== undefined) {
    expiresAt = input.expires_at === null ? null : new Date(input.expires_at)
    if (expiresAt !== null && !(expiresAt.getTime() > Date.now()))
      throw identityErrors.PARLEY_ERR_IDENTITY_TOKEN_EXPIRY_INVALID()
  }
  const ips = input.allowed_ips == null ? input.allowed_ips : normaliseAllowedIps(input.allowed_ips)
  const models = input.models == null ? input.models : normaliseModels(input.models)
  if (input.enabled !== undefined) row.enabled = input.enabled
  if (expiresAt !== undefined) row.expiresAt = expiresAt
  if (ips !== undefined) row.allowedIps = ips === null ? null : JSON.stringify(ips)
  if (models !== undefined) row.models = models === null ? null : JSON.stringify(models)
  if (input.rpm !== undefined) row.rpm = input.rpm
  if (input.quota !== undefined) row.quota = input.quota
}

export function tokenSettingsOf(row: ApiTokenRow): TokenSettings {
  return {
    enabled: row.enabled,
    expires_at: row.expiresAt ? row.expiresAt.toISOString() : null,
    models: listOf(row.models),
    allowed_ips: listOf(row.allowedIps),
    rpm: row.rpm ?? null,
    quota: row.quota ?? null,
    used_tokens: Number(row.usedTokens ?? 0),
  }
}

function listOf(stored: string | null | undefined): string[] | null {
  if (stored == null) return null
  try {
    const parsed: unknown = JSON.parse(stored)
    return Array.isArray(parsed) ? parsed.filter((item): item is string => typeof item === 'string') : []
  } catch {
    return []
  }
}
