/**
 * Something the daily retention job prunes: usage rows, refused-attempt records, expired
 * refresh tokens, widget sessions, orphan uploads. Each owner registers its own task, so the
 * job never needs to know another plugin's tables.
 *
 * @example
 * ctx.retention.register('expired-refresh-tokens', {
 *   async prune({ now, batchSize }) {
 *     // delete up to batchSize rows per statement until none are left; return the count
 *   },
 * })
 */
export interface RetentionTask {
  /**
   * Deletes what is past its time and returns how many rows went. Delete in batches of at most
   * `batchSize` rows per statement, so no table is locked for long; stop early when `signal`
   * aborts (shutdown). Must be idempotent: a second run the same day finds nothing to do.
   */
  prune(context: RetentionContext): Promise<number>
}

export interface RetentionContext {
  /** The moment the run started. */
  readonly now: Date
  /** `now` minus the `log_retention_days` setting: logs older than this go. */
  readonly before: Date
  readonly batchSize: number
  readonly signal: AbortSignal
}
