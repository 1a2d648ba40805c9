import type { EntityManager } from '@mikro-orm/core'
import { Counter, type Registry } from 'prom-client'
import type { Logger } from '../logger.js'
import { UsageLog, type UsageEndpoint, type UsagePrincipalKind, type UsageStatus } from './entities.js'

const DEFAULT_FLUSH_INTERVAL_MS = 1000
const DEFAULT_BATCH_SIZE = 200
const DEFAULT_MAX_BUFFERED = 10_000
const DEFAULT_RETRY_BASE_MS = 1000
const DEFAULT_RETRY_MAX_MS = 60_000

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

export interface UsageWriterOptions {
  /** A fresh EntityManager per batch (`db.em`). */
  readonly em: () => EntityManager
  readonly log: Logger
  /** When given, rows written and dropped are counted there. */
  readonly metrics?: Registry
  readonly flushIntervalMs?: number
  /** A batch is written as soon as this many rows wait, and no insert carries more. */
  readonly batchSize?: number
  /** Rows held while the database is slow or down; beyond it the oldest are dropped. */
  readonly maxBuffered?: number
  /** First wait after a failed write; doubles per failure up to `retryMaxMs`. */
  readonly retryBaseMs?: number
  readonly retryMaxMs?: number
}

export interface UsageWriterStats {
  readonly buffered: number
  readonly written: number
  readonly dropped: number
  /** Consecutive failed writes; 0 once a write succeeds again. */
  readonly failures: number
}

type UsageRow = Required<UsageRecord>

/**
 * Buffers usage rows and writes them in multi-row inserts off the request path (SPEC §9).
 * `record()` is synchronous and cannot fail; a database outage keeps rows (up to `maxBuffered`,
 * oldest dropped first) and retries with backoff. Call `close()` on shutdown.
 *
 * @example
 * const usage = new UsageWriter({ em: () => db.em(), log, metrics })
 * usage.record({ requestId, ip, principalKind: 'guest', model, promptTokens: 12, ... })
 * await usage.close()
 */
export class UsageWriter {
  private buffer: UsageRow[] = []
  private draining: Promise<void> | undefined
  private scheduled = false
  private closed = false
  private retryAt = 0
  private counts = { written: 0, dropped: 0, failures: 0, droppedUnreported: 0 }
  private readonly timer: NodeJS.Timeout
  private readonly batchSize: number
  private readonly maxBuffered: number
  private readonly writtenTotal: Counter | undefined
  private readonly droppedTotal: Counter | undefined

  constructor(private readonly options: UsageWriterOptions) {
    this.batchSize = Math.max(1, options.batchSize ?? DEFAULT_BATCH_SIZE)
    this.maxBuffered = Math.max(this.batchSize, options.maxBuffered ?? DEFAULT_MAX_BUFFERED)
    if (options.metrics) {
      this.writtenTotal = counter(options.metrics, 'parley_usage_rows_written_total', 'Usage log rows written to the database')
      this.droppedTotal = counter(options.metrics, 'parley_usage_rows_dropped_total', 'Usage log rows dropped because the buffer was full or the writer closed')
    }
    this.timer = setInterval(() => this.tick(), options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS)
    this.timer.unref()
  }

  get stats(): UsageWriterStats {
    const { written, dropped, failures } = this.counts
    return { buffered: this.buffer.length, written, dropped, failures }
  }

  /** Queues one row; returns at once and never throws, whatever the database is doing. */
  record(record: UsageRecord): void {
    try {
      if (this.closed) {
        this.drop(1)
        return
      }
      this.buffer.push(toRow(record))
      if (this.buffer.length > this.maxBuffered) this.drop(this.buffer.splice(0, this.buffer.length - this.maxBuffered).length)
      if (this.buffer.length >= this.batchSize && !this.scheduled && Date.now() >= this.retryAt) {
        // Deferred so the caller's response path pays for a push, not for building an insert.
        this.scheduled = true
        setImmediate(() => {
          this.scheduled = false
          void this.drain()
        })
      }
    } catch {
      // A malformed record must not break the request that reported it.
      this.drop(1)
    }
  }

  /** Writes every buffered row now, ignoring backoff; rejects (keeping the rows) if the database fails. */
  async flush(): Promise<void> {
    while (this.draining) await this.draining.catch(() => undefined)
    this.draining = this.writeAll(true)
    try {
      await this.draining
    } finally {
      this.draining = undefined
    }
  }

  /** Stops the timer and writes what is left; rows that still cannot be written are logged as lost. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.timer)
    try {
      await this.flush()
    } catch {
      const lost = this.buffer.length
      this.buffer = []
      this.drop(lost)
      this.options.log.error({ rows: lost }, 'usage rows could not be written before shutdown and are lost')
    }
  }

  private tick(): void {
    if (this.counts.droppedUnreported > 0) {
      this.options.log.warn({ dropped: this.counts.droppedUnreported, max_buffered: this.maxBuffered }, 'usage buffer full: oldest rows dropped')
      this.counts.droppedUnreported = 0
    }
    if (this.buffer.length > 0 && Date.now() >= this.retryAt) void this.drain()
  }

  /** Background write: at most one at a time, failures only logged. */
  private drain(): Promise<void> {
    this.draining ??= this.writeAll(false).finally(() => {
      this.draining = undefined
    })
    return this.draining
  }

  private async writeAll(strict: boolean): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, this.batchSize)
      try {
        await this.options.em().insertMany(UsageLog, batch)
      } catch (error) {
        this.failed(batch, error)
        if (strict) throw new Error(`usage rows could not be written: ${describe(error)}`)
        return
      }
      this.counts.written += batch.length
      this.counts.failures = 0
      this.retryAt = 0
      this.writtenTotal?.inc(batch.length)
    }
  }

  private failed(batch: UsageRow[], error: unknown): void {
    // Back in front, in order; rows that arrived meanwhile may now push the oldest out.
    this.buffer.unshift(...batch)
    if (this.buffer.length > this.maxBuffered) this.drop(this.buffer.splice(0, this.buffer.length - this.maxBuffered).length)
    this.counts.failures++
    const base = this.options.retryBaseMs ?? DEFAULT_RETRY_BASE_MS
    const wait = Math.min(this.options.retryMaxMs ?? DEFAULT_RETRY_MAX_MS, base * 2 ** Math.min(this.counts.failures - 1, 20))
    this.retryAt = Date.now() + wait
    this.options.log.warn({ reason: describe(error), rows: this.buffer.length, retry_in_ms: wait }, 'usage rows not written; will retry')
  }

  private drop(rows: number): void {
    if (rows <= 0) return
    this.counts.dropped += rows
    this.counts.droppedUnreported += rows
    this.droppedTotal?.inc(rows)
  }
}

function counter(registry: Registry, name: string, help: string): Counter {
  // Two writers on one registry (tests, restarts) share the counter instead of failing.
  return (registry.getSingleMetric(name) as Counter | undefined) ?? new Counter({ name, help, registers: [registry] })
}

/** Copies the known columns only, fitted to their sizes, so one odd row cannot fail a whole batch. */
function toRow(record: UsageRecord): UsageRow {
  return {
    createdAt: record.createdAt ?? new Date(),
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

function fit(text: string, length: number): string {
  if (text.length <= length) return text
  const cut = text.slice(0, length)
  // Never leave half a surrogate pair: MySQL would refuse the row.
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut
}

/** A non-negative integer that fits a signed 32-bit column. */
function count(value: number): number {
  return Number.isFinite(value) ? Math.min(2_147_483_647, Math.max(0, Math.round(value))) : 0
}

/** The error's class and code only: driver messages quote the failed SQL, and with it row values. */
function describe(error: unknown): string {
  const { name, code } = (error ?? {}) as { name?: unknown; code?: unknown }
  const kind = typeof name === 'string' ? name : 'Error'
  return typeof code === 'string' || typeof code === 'number' ? `${kind} (${code})` : kind
}
