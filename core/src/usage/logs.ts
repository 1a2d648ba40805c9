import type { EntityManager } from '@mikro-orm/core'
import type { UsageEndpoint, UsageStatus } from './entities.js'
import { BUCKET_MS } from './rollups.js'
import type { UsageLogView } from './views.js'

/** Rows per query of an export: big enough to amortise the round trip, small enough to hold. */
export const EXPORT_BATCH_SIZE = 1000

/**
 * What the admin log list and export filter by. Every field but `endpoint` has an index
 * `(field, created_at)` (or `created_at` alone for the range), so a filtered page or export batch
 * is one index range read in the list's order.
 */
export interface LogFilter {
  /** Inclusive. */
  readonly from?: Date
  /** Exclusive. */
  readonly to?: Date
  readonly userId?: number
  /** The name at call time. */
  readonly username?: string
  readonly ip?: string
  readonly model?: string
  readonly channelId?: number
  /** The name at call time; used when no current channel has the name. */
  readonly channelName?: string
  readonly status?: UsageStatus
  readonly endpoint?: UsageEndpoint
}

export type { UsageLogView } from './views.js'

export const LOG_COLUMNS: ReadonlyArray<keyof UsageLogView> = [
  'id',
  'created_at',
  'ip_address',
  'user_id',
  'username',
  'model',
  'channel_id',
  'channel_name',
  'prompt_tokens',
  'completion_tokens',
  'estimated',
  'status',
  'error_type',
  'latency_ms',
  'ttfb_ms',
  'request_id',
  'principal_kind',
  'token_id',
  'endpoint',
  'stream',
]

/** The table's columns, in `LOG_COLUMNS` order (the view calls `ip` `ip_address`). */
const COLUMNS = LOG_COLUMNS.map(column => (column === 'ip_address' ? 'ip' : column))
const SELECT = `select ${COLUMNS.map(column => `\`${column}\``).join(', ')} from \`usage_logs\``
/** Newest first; `id` breaks ties and is the last column of every index, so no sort is needed. */
const ORDER = ' order by `created_at` desc, `id` desc'

type RawRow = Record<string, unknown>

/**
 * One page, newest first, and how many rows match in all. The page is found on the index alone
 * and only its rows are read (a deferred join): skipping to page 100 skips index entries, not
 * whole rows, which MariaDB would otherwise read and sort.
 */
export async function listLogs(
  em: EntityManager,
  filter: LogFilter,
  page: number,
  pageSize: number,
): Promise<{ items: UsageLogView[]; total: number }> {
  const connection = em.getConnection()
  const where = whereOf(filter)
  const total = await countLogs(em, filter)
  const offset = (page - 1) * pageSize
  if (offset >= total) return { items: [], total }
  const columns = COLUMNS.map(column => `\`l\`.\`${column}\``).join(', ')
  const rows = (await connection.execute(
    `select ${columns} from \`usage_logs\` as \`l\` join (select \`id\` from \`usage_logs\`${where.sql}${ORDER} limit ? offset ?) as \`page\` on \`page\`.\`id\` = \`l\`.\`id\` order by \`l\`.\`created_at\` desc, \`l\`.\`id\` desc`,
    [...where.params, pageSize, offset],
  )) as RawRow[]
  return { items: rows.map(toView), total }
}

/**
 * How many rows match. Filtered by time and model only (the logs page as it opens), the whole
 * quarter hours come from the rollups and only the partial ones at the edges from the rows, so
 * the count does not read the whole table; other filters count their index range.
 */
async function countLogs(em: EntityManager, filter: LogFilter): Promise<number> {
  const connection = em.getConnection()
  const count = async (range: LogFilter) => {
    const where = whereOf(range)
    const [row] = (await connection.execute(
      `select count(*) as \`total\` from \`usage_logs\`${where.sql}`,
      where.params,
    )) as RawRow[]
    return Number(row?.total ?? 0)
  }
  const byTimeAndModel = Object.entries(filter).every(
    ([key, value]) => value === undefined || key === 'from' || key === 'to' || key === 'model',
  )
  if (!byTimeAndModel) return count(filter)
  const from = filter.from?.getTime() ?? Number.NEGATIVE_INFINITY
  const to = filter.to?.getTime() ?? Number.POSITIVE_INFINITY
  const first = Math.ceil(from / BUCKET_MS)
  const end = Math.floor(to / BUCKET_MS)
  if (!(first < end)) return count(filter) // within one or two quarter hours: a short index range
  const clauses: string[] = []
  const params: unknown[] = []
  const add = (sql: string, value: unknown) => {
    clauses.push(sql)
    params.push(value)
  }
  if (filter.model !== undefined) add('`model` = ?', filter.model)
  if (Number.isFinite(first)) add('`bucket` >= ?', first)
  if (Number.isFinite(end)) add('`bucket` < ?', end)
  const where = clauses.length > 0 ? ` where ${clauses.join(' and ')}` : ''
  const [summed] = (await connection.execute(
    `select sum(\`calls\`) as \`total\` from \`usage_rollups\`${where}`,
    params,
  )) as RawRow[]
  let total = Number(summed?.total ?? 0)
  if (Number.isFinite(first) && first * BUCKET_MS > from)
    total += await count({ ...filter, to: new Date(first * BUCKET_MS) })
  if (Number.isFinite(end) && end * BUCKET_MS < to) total += await count({ ...filter, from: new Date(end * BUCKET_MS) })
  return total
}

/**
 * Every matching row, newest first, a batch per query. Keyset pagination on the list's order
 * (`created_at`, `id`): each batch starts an index range where the last one ended, so the cost
 * per batch stays flat however deep the export goes, and nothing is held between batches. Rows
 * logged after the export started are newer than its first row and are not included.
 */
export async function* exportLogs(
  em: () => EntityManager,
  filter: LogFilter,
  batchSize = EXPORT_BATCH_SIZE,
): AsyncGenerator<UsageLogView[]> {
  let after: { createdAt: Date; id: number } | undefined
  for (;;) {
    const where = whereOf(filter, after)
    const rows = (await em()
      .getConnection()
      .execute(`${SELECT}${where.sql}${ORDER} limit ?`, [...where.params, batchSize])) as RawRow[]
    if (rows.length === 0) return
    const views = rows.map(toView)
    yield views
    if (rows.length < batchSize) return
    const last = rows[rows.length - 1] as RawRow
    after = { createdAt: toDate(last.created_at), id: Number(last.id) }
  }
}

function whereOf(filter: LogFilter, after?: { createdAt: Date; id: number }): { sql: string; params: unknown[] } {
  const clauses: string[] = []
  const params: unknown[] = []
  const add = (sql: string, ...values: unknown[]) => {
    clauses.push(sql)
    params.push(...values)
  }
  if (filter.userId !== undefined) add('`user_id` = ?', filter.userId)
  if (filter.username !== undefined) add('`username` = ?', filter.username)
  if (filter.ip !== undefined) add('`ip` = ?', filter.ip)
  if (filter.model !== undefined) add('`model` = ?', filter.model)
  if (filter.channelId !== undefined) add('`channel_id` = ?', filter.channelId)
  if (filter.channelName !== undefined) add('`channel_name` = ?', filter.channelName)
  if (filter.status !== undefined) add('`status` = ?', filter.status)
  if (filter.endpoint !== undefined) add('`endpoint` = ?', filter.endpoint)
  if (filter.from !== undefined) add('`created_at` >= ?', filter.from)
  if (filter.to !== undefined) add('`created_at` < ?', filter.to)
  // `<=` bounds the index range; the rows of that same second already sent are skipped by id.
  if (after) add('`created_at` <= ? and (`created_at` < ? or `id` < ?)', after.createdAt, after.createdAt, after.id)
  return { sql: clauses.length > 0 ? ` where ${clauses.join(' and ')}` : '', params }
}

function toView(row: RawRow): UsageLogView {
  return {
    id: Number(row.id),
    created_at: toDate(row.created_at).toISOString(),
    ip_address: String(row.ip),
    user_id: nullableNumber(row.user_id),
    username: nullableString(row.username),
    model: String(row.model),
    channel_id: nullableNumber(row.channel_id),
    channel_name: nullableString(row.channel_name),
    prompt_tokens: Number(row.prompt_tokens),
    completion_tokens: Number(row.completion_tokens),
    estimated: Boolean(Number(row.estimated)),
    status: String(row.status),
    error_type: nullableString(row.error_type),
    latency_ms: Number(row.latency_ms),
    ttfb_ms: nullableNumber(row.ttfb_ms),
    request_id: String(row.request_id),
    principal_kind: String(row.principal_kind),
    token_id: nullableNumber(row.token_id),
    endpoint: String(row.endpoint),
    stream: Boolean(Number(row.stream)),
  }
}

/** SQLite keeps epoch milliseconds; MySQL answers `YYYY-MM-DD HH:MM:SS` in UTC. */
function toDate(value: unknown): Date {
  if (value instanceof Date) return value
  if (typeof value === 'number' || typeof value === 'bigint') return new Date(Number(value))
  return new Date(`${String(value).replace(' ', 'T')}Z`)
}

function nullableNumber(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value)
}

function nullableString(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value)
}
