import type { Run } from './sql.js'

/*
 * What the stats read instead of the rows: calls and tokens per model per quarter hour
 * (`usage_rollups`) and each user's last call (`usage_user_activity`).
 */

/** One rollup bucket: a quarter hour, so the days of every zone in use today are whole buckets. */
export const BUCKET_MS = 15 * 60_000

/** The bucket holding `instant` (a Date or epoch ms). */
export function bucketOf(instant: Date | number): number {
  return Math.floor(+instant / BUCKET_MS)
}

/** The fields of a usage row the rollups count. */
export interface RollupSource {
  /** Epoch milliseconds. */
  readonly createdAt: number
  readonly model: string
  readonly userId?: number | null
  readonly promptTokens: number
  readonly completionTokens: number
}

interface Delta {
  readonly bucket: number
  readonly model: string
  calls: number
  promptTokens: number
  completionTokens: number
}

/**
 * Adds a batch of usage rows to `usage_rollups` and `usage_user_activity`. Call it in the
 * transaction that inserts the rows: the upserts are atomic in the database, so several
 * instances writing at once, rows that arrive late (a writer that waited out an outage) and
 * retries of a failed batch all leave both tables equal to what the rows say.
 */
export async function addToRollups(run: Run, sqlite: boolean, rows: readonly RollupSource[]): Promise<void> {
  await addCalls(run, sqlite, rows)
  await addLastCalls(run, sqlite, rows)
}

async function addCalls(run: Run, sqlite: boolean, rows: readonly RollupSource[]): Promise<void> {
  const deltas = new Map<string, Delta>()
  for (const row of rows) {
    const bucket = bucketOf(row.createdAt)
    const key = `${bucket}\n${row.model}`
    const delta = deltas.get(key) ?? { bucket, model: row.model, calls: 0, promptTokens: 0, completionTokens: 0 }
    delta.calls += 1
    delta.promptTokens += row.promptTokens
    delta.completionTokens += row.completionTokens
    deltas.set(key, delta)
  }
  if (deltas.size === 0) return
  // One order for every writer, so two instances never lock the same rollup rows crosswise.
  const sorted = [...deltas.values()].sort(
    (a, b) => a.bucket - b.bucket || (a.model < b.model ? -1 : a.model > b.model ? 1 : 0),
  )
  const values = sorted.map(() => '(?, ?, ?, ?, ?)').join(', ')
  const params = sorted.flatMap(delta => [
    delta.bucket,
    delta.model,
    delta.calls,
    delta.promptTokens,
    delta.completionTokens,
  ])
  const insert = `insert into \`usage_rollups\` (\`bucket\`, \`model\`, \`calls\`, \`prompt_tokens\`, \`completion_tokens\`) values ${values}`
  const merge = sqlite
    ? 'on conflict (`bucket`, `model`) do update set `calls` = `calls` + excluded.`calls`, `prompt_tokens` = `prompt_tokens` + excluded.`prompt_tokens`, `completion_tokens` = `completion_tokens` + excluded.`completion_tokens`'
    : 'on duplicate key update `calls` = `calls` + values(`calls`), `prompt_tokens` = `prompt_tokens` + values(`prompt_tokens`), `completion_tokens` = `completion_tokens` + values(`completion_tokens`)'
  await run(`${insert} ${merge}`, params)
}

async function addLastCalls(run: Run, sqlite: boolean, rows: readonly RollupSource[]): Promise<void> {
  const last = new Map<number, number>()
  for (const row of rows) {
    if (row.userId == null) continue
    last.set(row.userId, Math.max(last.get(row.userId) ?? 0, row.createdAt))
  }
  if (last.size === 0) return
  const sorted = [...last].sort(([a], [b]) => a - b)
  const values = sorted.map(() => '(?, ?)').join(', ')
  // As MikroORM stores a datetime: epoch milliseconds in SQLite, UTC text in MySQL.
  const params = sorted.flatMap(([userId, time]) => [
    userId,
    sqlite ? time : new Date(time).toISOString().slice(0, 19).replace('T', ' '),
  ])
  const insert = `insert into \`usage_user_activity\` (\`user_id\`, \`last_call_at\`) values ${values}`
  // Never backwards: a late row must not hide a newer call.
  const merge = sqlite
    ? 'on conflict (`user_id`) do update set `last_call_at` = max(`last_call_at`, excluded.`last_call_at`)'
    : 'on duplicate key update `last_call_at` = greatest(`last_call_at`, values(`last_call_at`))'
  await run(`${insert} ${merge}`, params)
}
