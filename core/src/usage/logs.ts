import type { EntityManager } from '@mikro-orm/core'
import type { UsageEndpoint, UsageStatus } from './entities.js'
import { BUCKET_MS } from './rollups.js'
import { isSqlite } from './sql.js'
import type { UsageLogView } from './views.js'

/** Rows per query of an export: big enough to amortise the round trip, small enough to hold. */
export const EXPORT_BATCH_SIZE = 1000

/**
 * What the admin log list and export filter by. Every field has an index `(field, created_at)`
 * (or `created_at` alone for the range), so a filtered page or export batch is one index range
 * read in the list's order.
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
/**
 * Newest first; `id` breaks ties. It is the last column of every index but the user's, so no sort
 * is needed; the user's holds model and tokens before it, so its ties (calls of one second) are sorted.
 */
const ORDER = ' order by `created_at` desc, `id` desc'
/** Rows a deep page of a time or model filter may skip by offset before it is found from the rollups instead. */
const SEEK_FROM = 2000
const BUCKETS_PER_DAY = 96

/**
 * The index each filter reads, the narrowest first: a person's calls, a channel's, a model's,
 * then a status or an endpoint (a rare status before an endpoint, `success` after), each with
 * `created_at` for the range and the order. The database is told which: without statistics
 * (SQLite gathers none unless asked, MariaDB's are stale after a bulk load) a planner may pick a
 * wide index and check the other filters row by row, on a million rows 0.4 s (SQLite) and 0.7 s
 * (MariaDB) for a user and a model, where the user's index takes a few milliseconds.
 */
const INDEXES: ReadonlyArray<readonly [keyof LogFilter, string]> = [
  ['userId', 'usage_logs_user_totals_index'],
  ['username', 'usage_logs_username_created_at_index'],
  ['ip', 'usage_logs_ip_created_at_index'],
  ['channelName', 'usage_logs_channel_name_created_at_index'],
  ['channelId', 'usage_logs_channel_id_created_at_index'],
  ['model', 'usage_logs_model_created_at_index'],
  ['status', 'usage_logs_status_created_at_index'],
  ['endpoint', 'usage_logs_endpoint_created_at_index'],
]
const TIME_INDEX = 'usage_logs_created_at_index'
const STATUS_INDEX = 'usage_logs_status_created_at_index'

type RawRow = Record<string, unknown>

/**
 * One page, newest first, and how many rows match in all. The page is found on the index alone
 * and only its rows are read (a deferred join): skipping to page 100 skips index entries, not
 * whole rows, which MariaDB would otherwise read and sort. A deep page of a time or model filter
 * starts at the quarter hour the rollups place it in, so it skips at most that quarter hour's
 * rows however deep it is (the last page of a million rows: 0.7 s by offset on MariaDB).
 */
export async function listLogs(
  em: EntityManager,
  filter: LogFilter,
  page: number,
  pageSize: number,
): Promise<{ items: UsageLogView[]; total: number }> {
  const connection = em.getConnection()
  const sqlite = isSqlite(em)
  const offset = (page - 1) * pageSize
  const { total, rollups } = await countLogs(em, filter, offset >= SEEK_FROM)
  if (offset >= total) return { items: [], total }
  const seek = rollups && offset >= SEEK_FROM ? await seekPage(em, filter, rollups, offset) : undefined
  const where = whereOf(seek ? { ...filter, to: seek.to } : filter)
  const columns = COLUMNS.map(column => `\`l\`.\`${column}\``).join(', ')
  const rows = (await connection.execute(
    `select ${columns} from \`usage_logs\` as \`l\` join (select \`id\` from ${table(sqlite, filter)}${where.sql}${ORDER} limit ? offset ?) as \`page\` on \`page\`.\`id\` = \`l\`.\`id\` order by \`l\`.\`created_at\` desc, \`l\`.\`id\` desc`,
    [...where.params, pageSize, seek?.skip ?? offset],
  )) as RawRow[]
  return { items: rows.map(toView), total }
}

/** What the rollups say of a filter of time and model only, to count it and to seek its deep pages. */
interface RollupRange {
  /** The whole quarter hours of the filter's time range, `[first, end)`; unbounded sides are infinite. */
  readonly first: number
  readonly end: number
  /** Rows newer than `end`: those of the partial quarter hour at `to`, counted from the rows. */
  readonly newer: number
  /** Rows of the whole quarter hours per UTC day (`bucket div 96`), newest day first. */
  readonly days: ReadonlyArray<readonly [day: number, calls: number]>
}

/**
 * How many rows match. Filtered by time and model only (the logs page as it opens), the whole
 * quarter hours come from the rollups and only the partial ones at the edges from the rows, so
 * the count does not read the whole table. `status=success` (most rows) is counted as all the
 * rows of its time range less the other statuses', two short ranges of the status index. Other
 * filters count their index range.
 */
async function countLogs(
  em: EntityManager,
  filter: LogFilter,
  perDay = false,
): Promise<{ total: number; rollups?: RollupRange }> {
  const keys = Object.entries(filter).flatMap(([key, value]) => (value === undefined ? [] : [key]))
  if (filter.status === 'success' && keys.every(key => key === 'from' || key === 'to' || key === 'status')) {
    const all = await countLogs(em, { from: filter.from, to: filter.to })
    return { total: all.total - (await countOtherStatuses(em, filter)) }
  }
  if (!keys.every(key => key === 'from' || key === 'to' || key === 'model'))
    return { total: await countRows(em, filter) }
  const from = filter.from?.getTime() ?? Number.NEGATIVE_INFINITY
  const to = filter.to?.getTime() ?? Number.POSITIVE_INFINITY
  const first = Math.ceil(from / BUCKET_MS)
  const end = Math.floor(to / BUCKET_MS)
  // Within one or two quarter hours: a short index range.
  if (!(first < end)) return { total: await countRows(em, filter) }
  const clauses: string[] = []
  const params: unknown[] = []
  const add = (sql: string, value: unknown) => {
    clauses.push(sql)
    params.push(value)
  }
  if (filter.model !== undefined) add('`model` = ?', filter.model)
  if (Number.isFinite(first)) add('`bucket` >= ?', first)
  if (Number.isFinite(end)) add('`bucket` < ?', end)
  // Per day only for a deep page: the grouping costs SQLite a sort, three times the plain sum.
  const where = clauses.length > 0 ? ` where ${clauses.join(' and ')}` : ''
  const day = isSqlite(em) ? '`bucket` / 96' : '`bucket` div 96'
  const rows = (await em
    .getConnection()
    .execute(
      perDay
        ? `select ${day} as \`day\`, sum(\`calls\`) as \`calls\` from \`usage_rollups\`${where} group by ${day} order by \`day\` desc`
        : `select sum(\`calls\`) as \`calls\` from \`usage_rollups\`${where}`,
      params,
    )) as RawRow[]
  const days = rows.map(row => [Number(row.day ?? 0), Number(row.calls ?? 0)] as const)
  const newer =
    Number.isFinite(end) && end * BUCKET_MS < to
      ? await countRows(em, { ...filter, from: new Date(end * BUCKET_MS) })
      : 0
  const older =
    Number.isFinite(first) && first * BUCKET_MS > from
      ? await countRows(em, { ...filter, to: new Date(first * BUCKET_MS) })
      : 0
  const total = newer + days.reduce((sum, [, calls]) => sum + calls, 0) + older
  return { total, rollups: perDay ? { first, end, newer, days } : undefined }
}

async function countRows(em: EntityManager, filter: LogFilter): Promise<number> {
  const where = whereOf(filter)
  const from = table(isSqlite(em), filter)
  const [row] = (await em
    .getConnection()
    .execute(`select count(*) as \`total\` from ${from}${where.sql}`, where.params)) as RawRow[]
  return Number(row?.total ?? 0)
}

/** Rows of the filter's time range whose status sorts before or after its own. */
async function countOtherStatuses(em: EntityManager, filter: LogFilter): Promise<number> {
  const time = whereOf({ from: filter.from, to: filter.to })
  const from = reading(isSqlite(em), STATUS_INDEX)
  let total = 0
  for (const comparison of ['<', '>']) {
    const [row] = (await em
      .getConnection()
      .execute(
        `select count(*) as \`total\` from ${from} where \`status\` ${comparison} ?${time.sql.replace(' where ', ' and ')}`,
        [filter.status, ...time.params],
      )) as RawRow[]
    total += Number(row?.total ?? 0)
  }
  return total
}

/**
 * Where the page at `offset` starts, from the rollups: the end of the quarter hour holding its
 * first row, and how many rows of that quarter hour come before it. Two small queries: the days
 * were summed by the count; the quarter hours of one day are at most 96 rows per model.
 */
async function seekPage(
  em: EntityManager,
  filter: LogFilter,
  rollups: RollupRange,
  offset: number,
): Promise<{ to: Date; skip: number } | undefined> {
  let left = offset - rollups.newer
  if (left < SEEK_FROM) return undefined
  for (const [day, calls] of rollups.days) {
    if (left >= calls) {
      left -= calls
      continue
    }
    const low = Math.max(rollups.first, day * BUCKETS_PER_DAY)
    const high = Math.min(rollups.end, (day + 1) * BUCKETS_PER_DAY)
    const model = filter.model === undefined ? '' : ' and `model` = ?'
    const buckets = (await em
      .getConnection()
      .execute(
        `select \`bucket\`, sum(\`calls\`) as \`calls\` from \`usage_rollups\` where \`bucket\` >= ? and \`bucket\` < ?${model} group by \`bucket\` order by \`bucket\` desc`,
        filter.model === undefined ? [low, high] : [low, high, filter.model],
      )) as RawRow[]
    for (const row of buckets) {
      const inBucket = Number(row.calls)
      if (left < inBucket) return { to: new Date((Number(row.bucket) + 1) * BUCKET_MS), skip: left }
      left -= inBucket
    }
    return undefined // written to meanwhile: the offset still finds the page
  }
  // Among the rows of the partial quarter hour at `from`.
  return Number.isFinite(rollups.first) ? { to: new Date(rollups.first * BUCKET_MS), skip: left } : undefined
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
  const columns = COLUMNS.map(column => `\`${column}\``).join(', ')
  for (;;) {
    const where = whereOf(filter, after)
    const manager = em()
    const rows = (await manager
      .getConnection()
      .execute(`select ${columns} from ${table(isSqlite(manager), filter, true)}${where.sql}${ORDER} limit ?`, [
        ...where.params,
        batchSize,
      ])) as RawRow[]
    if (rows.length === 0) return
    const views = rows.map(toView)
    yield views
    if (rows.length < batchSize) return
    const last = rows[rows.length - 1] as RawRow
    after = { createdAt: toDate(last.created_at), id: Number(last.id) }
  }
}

/** `usage_logs`, naming the index the filter reads (see `INDEXES`); none to choose without a filter. */
function table(sqlite: boolean, filter: LogFilter, keyset = false): string {
  const index =
    INDEXES.find(
      ([key]) =>
        filter[key] !== undefined &&
        !(key === 'status' && filter.status === 'success' && filter.endpoint !== undefined),
    )?.[1] ?? (filter.from !== undefined || filter.to !== undefined || keyset ? TIME_INDEX : undefined)
  return index === undefined ? '`usage_logs`' : reading(sqlite, index)
}

/** `usage_logs`, told to read `index`. */
function reading(sqlite: boolean, index: string): string {
  return sqlite ? `\`usage_logs\` indexed by \`${index}\`` : `\`usage_logs\` force index (\`${index}\`)`
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
