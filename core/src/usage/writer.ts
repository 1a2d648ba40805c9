import type { EntityManager } from '@mikro-orm/core'
import type { Registry } from 'prom-client'
import { BatchWriter, count, fit, type BatchWriterOptions } from '../db/batch-writer.js'
import type { Logger } from '../logger.js'
import type { UsageEndpoint, UsagePrincipalKind, UsageStatus } from './entities.js'
import { addToRollups, type RollupSource } from './rollups.js'
import { inTransaction } from './sql.js'

/** What the pipeline reports about one model call. Counts and timings only, never text. */
export interface UsageRecord {
  /** Defaults to the moment `record()` is called. */
  readonly createdAt?: Date
  readonly requestId: string
  readonly ip: string
  readonly principalKind: UsagePrincipalKind
  readonly userId?: number | null
  readonly username?: string | null
  readonly tokenId?: number | null
  readonly model: string
  readonly channelId?: number | null
  readonly channelName?: string | null
  readonly promptTokens: number
  readonly completionTokens: number
  readonly estimated: boolean
  readonly status: UsageStatus
  readonly errorType?: string | null
  readonly latencyMs: number
  readonly ttfbMs?: number | null
  readonly endpoint: UsageEndpoint
  readonly stream: boolean
}

export type UsageWriterOptions = Omit<
  BatchWriterOptions<UsageRecord, PendingRow>,
  'name' | 'label' | 'toRow' | 'insert'
> & {
  readonly em: () => EntityManager
  readonly log: Logger
  readonly metrics?: Registry
}

export type { BatchWriterStats as UsageWriterStats } from '../db/batch-writer.js'

/** A usage row waiting for its batch: its values as a JSON array, made when the call ended, and what the rollups count. */
interface PendingRow extends RollupSource {
  readonly values: string
}

/**
 * The columns of `usage_logs` in the order of a row's values, with the type MySQL's
 * `JSON_TABLE` reads each as. `created_at` travels as epoch seconds, booleans as 0 or 1.
 */
const COLUMNS = [
  ['created_at', 'bigint'],
  ['request_id', 'varchar(128)'],
  ['ip', 'varchar(45)'],
  ['principal_kind', 'varchar(16)'],
  ['user_id', 'int'],
  ['username', 'varchar(64)'],
  ['token_id', 'int'],
  ['model', 'varchar(191)'],
  ['channel_id', 'int'],
  ['channel_name', 'varchar(100)'],
  ['prompt_tokens', 'int'],
  ['completion_tokens', 'int'],
  ['estimated', 'tinyint'],
  ['status', 'varchar(16)'],
  ['error_type', 'varchar(64)'],
  ['latency_ms', 'int'],
  ['ttfb_ms', 'int'],
  ['endpoint', 'varchar(32)'],
  ['stream', 'tinyint'],
] as const

/**
 * One statement per batch whatever its size, with the whole batch as one JSON parameter that
 * the database unpacks (SQLite's `json_each`, MySQL's `JSON_TABLE`): binding a parameter per
 * value cost the event loop a few microseconds each (MySQL's driver formats them in
 * JavaScript), and a statement with thousands of placeholders must be prepared anew. On
 * SQLite the rows are first materialised: `json_each` renders an element's text anew each
 * time `value` is read, and each of the 19 `json_extract` calls read it (with the CTE a batch
 * costs the database thread about 40% less; it competes with the request path for the cores).
 */
const INSERT = {
  sqlite:
    'with `batch` (`row`) as materialized (select `value` from json_each(?)) ' +
    `insert into \`usage_logs\` (${COLUMNS.map(([name]) => `\`${name}\``).join(', ')}) ` +
    `select ${COLUMNS.map(([name], i) => (name === 'created_at' ? `json_extract(\`row\`, '$[${i}]') * 1000` : `json_extract(\`row\`, '$[${i}]')`)).join(', ')} from \`batch\``,
  mysql:
    `insert into \`usage_logs\` (${COLUMNS.map(([name]) => `\`${name}\``).join(', ')}) ` +
    `select ${COLUMNS.map(([name]) => (name === 'created_at' ? "timestampadd(second, `created_at`, '1970-01-01 00:00:00')" : `\`${name}\``)).join(', ')} ` +
    `from json_table(?, '$[*]' columns (${COLUMNS.map(([name, type], i) => `\`${name}\` ${type} path '$[${i}]'`).join(', ')})) as batch`,
}

/**
 * Buffers usage rows and writes them in multi-row inserts off the request path (a response never waits for its row), each
 * batch in one transaction with its increments of the stats rollups (`usage_rollups`).
 * `record()` is synchronous and cannot fail; a database outage keeps rows (up to `maxBuffered`,
 * oldest dropped first) and retries with backoff. Call `close()` on shutdown.
 *
 * @example
 * const usage = new UsageWriter({ em: () => db.em(), log, metrics })
 * usage.record({ requestId, ip, principalKind: 'guest', model, promptTokens: 12, ... })
 * await usage.close()
 */
export class UsageWriter extends BatchWriter<UsageRecord, PendingRow> {
  constructor(options: UsageWriterOptions) {
    super({ ...options, name: 'usage', label: 'Usage log', toRow, insert: insertWithRollups })
  }
}

/** The rows and their rollup increments commit together, or neither does (then the batch is retried). */
async function insertWithRollups(em: EntityManager, rows: PendingRow[]): Promise<void> {
  if (rows.length === 0) return
  const batch = `[${rows.map(row => row.values).join(',')}]`
  await inTransaction(em, async (run, sqlite) => {
    await run(sqlite ? INSERT.sqlite : INSERT.mysql, [batch])
    await addToRollups(run, sqlite, rows)
  })
}

/**
 * Copies the known columns only, fitted to their sizes, so one odd row cannot fail a whole
 * batch. The JSON is made here, a microsecond per call, rather than for a whole batch at once.
 */
function toRow(record: UsageRecord): PendingRow {
  // Whole seconds: MySQL rounds fractions away in a datetime column, which could move a row
  // into the next quarter hour from the rollup bucket counted for it here.
  const seconds = Math.floor((record.createdAt?.getTime() ?? Date.now()) / 1000)
  const userId = record.userId ?? null
  const model = fit(record.model, 191)
  const promptTokens = count(record.promptTokens)
  const completionTokens = count(record.completionTokens)
  const values = [
    seconds,
    fit(record.requestId, 128),
    // Never undefined by its type, but a row must not be lost to a caller that got it wrong.
    fit(typeof record.ip === 'string' ? record.ip : '', 45),
    record.principalKind,
    userId,
    record.username == null ? null : fit(record.username, 64),
    record.tokenId ?? null,
    model,
    record.channelId ?? null,
    record.channelName == null ? null : fit(record.channelName, 100),
    promptTokens,
    completionTokens,
    record.estimated ? 1 : 0,
    record.status,
    record.errorType == null ? null : fit(record.errorType, 64),
    count(record.latencyMs),
    record.ttfbMs == null ? null : count(record.ttfbMs),
    record.endpoint,
    record.stream ? 1 : 0,
  ]
  return { values: JSON.stringify(values), createdAt: seconds * 1000, model, userId, promptTokens, completionTokens }
}
