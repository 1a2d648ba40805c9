import type { EntityManager, InferEntity, RequiredEntityData } from '@mikro-orm/core'
import type { SqlEntityManager } from '@mikro-orm/knex'
import type { Registry } from 'prom-client'
import { BatchWriter, count, fit, type BatchWriterOptions } from '../db/batch-writer.js'
import type { Logger } from '../logger.js'
import { UsageLog, type UsageEndpoint, type UsagePrincipalKind, type UsageStatus } from './entities.js'
import { addToRollups } from './rollups.js'
import { databaseValue, isSqlite, runBound } from './sql.js'

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

export type UsageWriterOptions = Omit<BatchWriterOptions<UsageRecord, UsageLogRow>, 'name' | 'label' | 'entity' | 'toRow' | 'insert'> & {
  readonly em: () => EntityManager
  readonly log: Logger
  readonly metrics?: Registry
}

export type { BatchWriterStats as UsageWriterStats } from '../db/batch-writer.js'

type UsageRow = Required<UsageRecord>
type UsageLogRow = InferEntity<typeof UsageLog>

/**
 * Buffers usage rows and writes them in multi-row inserts off the request path (SPEC §9), each
 * batch in one transaction with its increments of the stats rollups (`usage_rollups`).
 * `record()` is synchronous and cannot fail; a database outage keeps rows (up to `maxBuffered`,
 * oldest dropped first) and retries with backoff. Call `close()` on shutdown.
 *
 * @example
 * const usage = new UsageWriter({ em: () => db.em(), log, metrics })
 * usage.record({ requestId, ip, principalKind: 'guest', model, promptTokens: 12, ... })
 * await usage.close()
 */
export class UsageWriter extends BatchWriter<UsageRecord, UsageLogRow> {
  constructor(options: UsageWriterOptions) {
    super({ ...options, name: 'usage', label: 'Usage log', entity: UsageLog, toRow, insert: insertWithRollups })
  }
}

/** The rows and their rollup increments commit together, or neither does (then the batch is retried). */
async function insertWithRollups(em: EntityManager, rows: Array<RequiredEntityData<UsageLogRow>>): Promise<void> {
  await em.begin()
  try {
    await insertRows(em as SqlEntityManager, rows as UsageRow[])
    await addToRollups(em, rows as UsageRow[])
    await em.commit()
  } catch (error) {
    await em.rollback().catch(() => undefined)
    throw error
  }
}

/**
 * One multi-row INSERT. MikroORM's `insertMany` would inline every value into the SQL text
 * first, on the event loop, which at a few hundred rows holds it for milliseconds: a latency
 * spike for every request in flight. SQLite gets the whole batch as one JSON parameter that
 * `json_each` unpacks in the driver's thread: binding thousands of separate parameters (and
 * preparing a statement with as many placeholders) cost the event loop a millisecond or more
 * per batch. MySQL gets one tuple of bound parameters per row.
 */
async function insertRows(em: SqlEntityManager, rows: readonly UsageRow[]): Promise<void> {
  const first = rows[0]
  if (!first) return
  const properties = Object.keys(first) as Array<keyof UsageRow>
  const meta = em.getMetadata().get(UsageLog.meta.className)
  const columns = properties.map(property => `\`${meta.properties[property]?.fieldNames[0] ?? property}\``).join(', ')
  const sqlite = isSqlite(em)
  const values = (row: UsageRow) => properties.map(property => databaseValue(row[property], sqlite))
  const insert = `insert into \`${meta.tableName}\` (${columns})`
  if (sqlite) await runBound(em, `${insert} select ${properties.map((_, i) => `json_extract(value, '$[${i}]')`).join(', ')} from json_each(?)`, [JSON.stringify(rows.map(values))])
  else await runBound(em, `${insert} values ${Array<string>(rows.length).fill(`(${properties.map(() => '?').join(', ')})`).join(', ')}`, rows.flatMap(values))
}

/** Copies the known columns only, fitted to their sizes, so one odd row cannot fail a whole batch. */
function toRow(record: UsageRecord): UsageRow {
  return {
    // Whole seconds: MySQL rounds fractions away in a datetime column, which could move a row
    // into the next quarter hour from the rollup bucket counted for it here.
    createdAt: wholeSeconds(record.createdAt ?? new Date()),
    requestId: fit(record.requestId, 128),
    ip: fit(record.ip, 45),
    principalKind: record.principalKind,
    userId: record.userId ?? null,
    username: record.username == null ? null : fit(record.username, 64),
    tokenId: record.tokenId ?? null,
    model: fit(record.model, 191),
    channelId: record.channelId ?? null,
    channelName: record.channelName == null ? null : fit(record.channelName, 100),
    promptTokens: count(record.promptTokens),
    completionTokens: count(record.completionTokens),
    estimated: record.estimated,
    status: record.status,
    errorType: record.errorType == null ? null : fit(record.errorType, 64),
    latencyMs: count(record.latencyMs),
    ttfbMs: record.ttfbMs == null ? null : count(record.ttfbMs),
    endpoint: record.endpoint,
    stream: record.stream,
  }
}


function wholeSeconds(time: Date): Date {
  return new Date(Math.floor(time.getTime() / 1000) * 1000)
}
