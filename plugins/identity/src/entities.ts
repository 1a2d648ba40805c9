import { defineEntity, type InferEntity } from '@parley/core'

/** A person who signs in. Email and username are unique; both are stored normalised. */
export const User = defineEntity({
  name: 'IdentityUser',
  tableName: 'identity_users',
  properties: p => ({
    id: p.integer().primary().autoincrement(),
    /** Lower-cased; the sign-in name of the portal. */
    email: p.string().length(191).unique(),
    /** As the user typed it; shown in the UI and logs. */
    username: p.string().length(64),
    /** Lower-cased username: uniqueness and admin login must not depend on the collation. */
    usernameKey: p.string().length(64).unique(),
    /** argon2id PHC string; never leaves this plugin. */
    passwordHash: p.string().length(255),
    /** `root` | `admin` | `user`. */
    role: p.string().length(16).default('user'),
    /** Decides channels, limits and models (docs/identity.md, Groups). */
    groupName: p.string().length(64).default('default'),
    /** `active` | `disabled`; a disabled user cannot sign in and loses every session. */
    status: p.string().length(16).default('active'),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
    /** Shown to admins; also tells a dormant account from an active one. */
    lastLoginAt: p.datetime().nullable(),
    /**
     * Raised by a password change: every access token (portal and admin console) carries the
     * epoch it was signed under and is refused once it differs.
     */
    sessionEpoch: p.integer().default(0),
  }),
})

/** A group of users with its own limits and model permissions. */
export const Group = defineEntity({
  name: 'IdentityGroup',
  tableName: 'identity_groups',
  properties: p => ({
    name: p.string().length(64).primary(),
    description: p.string().length(255).default(''),
    /** Requests per minute for each member; null uses the `user_rpm` setting. */
    rpm: p.integer().nullable(),
    /** JSON list of model names members may use; null means every enabled model. */
    models: p.text().nullable(),
    /** How many personal model configs a member may create (`POST /api/model-configs/can-create`). */
    modelConfigLimit: p.integer().default(0),
    createdAt: p.datetime().onCreate(() => new Date()),
  }),
})

/**
 * A refresh token, stored as its SHA-256 only. Rotation keeps the family id, so reuse of a
 * revoked token can revoke every token descended from the same sign-in (RFC 9700 §4.14).
 */
export const RefreshToken = defineEntity({
  name: 'IdentityRefreshToken',
  tableName: 'identity_refresh_tokens',
  properties: p => ({
    id: p.integer().primary().autoincrement(),
    /** Hex SHA-256 of the opaque token. */
    tokenHash: p.string().length(64).unique(),
    userId: p.integer().index(),
    /** Shared by all rotations of one sign-in. */
    familyId: p.string().length(36).index(),
    expiresAt: p.datetime().index(),
    /** Set when rotated, logged out or revoked; a revoked token presented again is reuse. */
    revokedAt: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  }),
})

/** A long-lived API token for `/v1/*`, stored as its SHA-256 only; plaintext is shown once. */
export const ApiToken = defineEntity({
  name: 'IdentityApiToken',
  tableName: 'identity_api_tokens',
  properties: p => ({
    id: p.integer().primary().autoincrement(),
    userId: p.integer().index(),
    /** Unique per user; `chat` is the portal's own token. */
    name: p.string().length(64),
    tokenHash: p.string().length(64).unique(),
    /** Prefix and last characters, so a user can tell tokens apart without the secret. */
    hint: p.string().length(32),
    createdAt: p.datetime().onCreate(() => new Date()),
    lastUsedAt: p.datetime().nullable(),
    /** Off: refused on every call (`api_token_disabled`) without losing its settings. */
    enabled: p.boolean().default(true),
    /** After it: refused (`api_token_expired`); null never expires. */
    expiresAt: p.datetime().nullable(),
    /** JSON list of the catalog model names it may call; null: whatever the user's group may. */
    models: p.text().nullable(),
    /** JSON list of addresses and CIDR ranges it may be used from; null: anywhere. */
    allowedIps: p.text().nullable(),
    /** Its own requests per minute (capped by the user's); null: the user's. */
    rpm: p.integer().nullable(),
    /** Tokens (prompt + completion) it may use in all; null: no quota. */
    quota: p.bigint('number').nullable(),
    /** Tokens its calls used while it had a quota, from their usage figures. */
    usedTokens: p.bigint('number').default(0),
  }),
  uniques: [{ properties: ['userId', 'name'] }],
})

/**
 * A password reset link sent by mail: stored as the SHA-256 of its secret only, used once,
 * expiring after `password_reset_ttl_minutes`.
 */
export const PasswordReset = defineEntity({
  name: 'IdentityPasswordReset',
  tableName: 'identity_password_resets',
  properties: p => ({
    id: p.integer().primary().autoincrement(),
    /** Whose password the link sets. */
    userId: p.integer().index(),
    /** Hex SHA-256 of the secret in the link; the secret itself is only in the mail. */
    tokenHash: p.string().length(64).unique(),
    /** After it the link is refused; the retention job deletes rows past it. */
    expiresAt: p.datetime().index(),
    /** Set when it was used, or when another link of the user was used: single use. */
    usedAt: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  }),
})

export type ApiTokenRow = InferEntity<typeof ApiToken>

export const identityEntities = [User, Group, RefreshToken, ApiToken, PasswordReset]
