import { defineEntity } from '@mikro-orm/core'

export type UsagePrincipalKind = 'user' | 'api_token' | 'guest' | 'widget_user'
export type UsageStatus = 'success' | 'error' | 'aborted'
/** Core's endpoints, or a plugin's own (`conversations`, `widget`) when it runs calls through `TOKENS.chat`. */
export type UsageEndpoint = 'chat.completions' | 'responses' | 'portal' | (string & {})

/**
 * One row per model call. Counts and timings only: this table must never hold the
 * prompt or the answer, so it has no free-text column at all.
 */
export const UsageLog = defineEntity({
  name: 'UsageLog',
  tableName: 'usage_logs',
  properties: p => ({
    /**
     * `int unsigned` on MySQL (4.29 billion calls) and a 64-bit rowid on SQLite: bigint would
     * read as drift on SQLite, whose schema comparator sees `bigint` against its `integer` rowid.
     */
    id: p.integer().primary().autoincrement(),
    /** When the call ended; every filter and stat is a time range over it. */
    createdAt: p.datetime().index(),
    /** The request id of the access log, so a row and its log lines can be joined. */
    requestId: p.string().length(128),
    /** Client address (IPv6 fits in 45); the logs filter by it and guests are counted by it. */
    ip: p.string().length(45),
    /** Who called: a signed-in user, an API token, a guest or a widget user. */
    principalKind: p.string().$type<UsagePrincipalKind>().length(16),
    /** The calling user (directly or through a token); null for guests and widget users. */
    userId: p.integer().nullable(),
    /** The name at call time, so the log still reads right after a rename or deletion. */
    username: p.string().length(64).nullable(),
    /** The API token used, if any; tells a user's scripts from their portal use. */
    tokenId: p.integer().nullable(),
    /** The catalog model name the client asked for. */
    model: p.string().length(191),
    /** The channel that served the call; null when routing found none. */
    channelId: p.integer().nullable(),
    /** The channel's name at call time, kept like `username`. */
    channelName: p.string().length(100).nullable(),
    promptTokens: p.integer(),
    completionTokens: p.integer(),
    /** True when the upstream reported no usage and the counts come from our tokenizer. */
    estimated: p.boolean(),
    status: p.string().$type<UsageStatus>().length(16),
    /** The error type the client saw (`upstream_error`, `timeout`, ...); null on success. */
    errorType: p.string().length(64).nullable(),
    /** Request arrival to last byte sent. */
    latencyMs: p.integer(),
    /** Request arrival to first byte sent; null when no byte was sent. */
    ttfbMs: p.integer().nullable(),
    /** Which API was called; portal traffic is routed by chat routes. */
    endpoint: p.string().$type<UsageEndpoint>().length(32),
    stream: p.boolean(),
  }),
  // Each filter of the admin log list is an index range followed by the time order the list and
  // the export read in (newest first).
  indexes: [
    { properties: ['model', 'createdAt'] },
    { properties: ['username', 'createdAt'] },
    { properties: ['ip', 'createdAt'] },
    { properties: ['channelId', 'createdAt'] },
    { properties: ['status', 'createdAt'] },
    { properties: ['channelName', 'createdAt'] },
    { properties: ['endpoint', 'createdAt'] },
    // The user filter's range, and all a user's own usage and the count of a user's calls read
    // (migrations 0010, 0011): the user's rows, scattered over the table, are never read one by one.
    {
      name: 'usage_logs_user_totals_index',
      properties: ['userId', 'createdAt', 'model', 'promptTokens', 'completionTokens'],
    },
  ],
})

/**
 * Calls and tokens per model per quarter hour, kept in step with `usage_logs` by the usage
 * writer (same transaction as the rows) and by retention. The stats read this instead of a
 * month of rows. Quarter hours because every time zone in use today starts its days on one
 * (Asia/Kolkata +5:30, Asia/Kathmandu +5:45), so any zone's days are whole buckets.
 */
export const UsageRollup = defineEntity({
  name: 'UsageRollup',
  tableName: 'usage_rollups',
  properties: p => ({
    /** Quarter hours since 1970-01-01T00:00Z: `floor(created_at / 15 min)`. */
    bucket: p.integer().primary(),
    /** The catalog model name, as in `usage_logs.model`. */
    model: p.string().length(191).primary(),
    /** Rows of `usage_logs` in this bucket for this model, whatever their status. */
    calls: p.integer(),
    /** Sums can pass 2^31 in a busy quarter hour; 64-bit read as a JS number (exact to 2^53). */
    promptTokens: p.bigint('number'),
    completionTokens: p.bigint('number'),
  }),
})

/**
 * When each user last called, kept by the usage writer like the rollups. "Active users this
 * month" are the users whose last call is on or after the 1st: one index range over at most
 * the user count, where counting distinct users in a month of rows would read every row.
 */
export const UsageUserActivity = defineEntity({
  name: 'UsageUserActivity',
  tableName: 'usage_user_activity',
  properties: p => ({
    /** `usage_logs.user_id`; guests and widget users have none and are not counted. */
    userId: p.integer().primary().autoincrement(false),
    /** The newest `usage_logs.created_at` of this user. */
    lastCallAt: p.datetime().index(),
  }),
})

export const usageEntities = [UsageLog, UsageRollup, UsageUserActivity]
