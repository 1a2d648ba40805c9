import { defineEntity } from '@mikro-orm/core'

export type UsagePrincipalKind = 'user' | 'api_token' | 'guest' | 'widget_user'
export type UsageStatus = 'success' | 'error' | 'aborted'
export type UsageEndpoint = 'chat.completions' | 'responses' | 'portal'

/**
 * One row per model call (SPEC §9). Counts and timings only: this table must never hold the
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
    /** The SPEC §8 error type (`upstream_error`, `timeout`, ...); null on success. */
    errorType: p.string().length(64).nullable(),
    /** Request arrival to last byte sent. */
    latencyMs: p.integer(),
    /** Request arrival to first byte sent; null when no byte was sent. */
    ttfbMs: p.integer().nullable(),
    /** Which API was called; portal traffic is routed by chat routes. */
    endpoint: p.string().$type<UsageEndpoint>().length(32),
    stream: p.boolean(),
  }),
  // The admin log list and stats filter by user or model within a time range.
  indexes: [{ properties: ['userId', 'createdAt'] }, { properties: ['model', 'createdAt'] }],
})

export const usageEntities = [UsageLog]
