import type { EntityManager } from '@mikro-orm/core'
import { Counter, type Registry } from 'prom-client'
import type { Logger } from '../logger.js'

const DEFAULT_FLUSH_INTERVAL_MS = 1000
const DEFAULT_BATCH_SIZE = 200
/** A backlog is written in batches of up to this many times `batchSize`. */
const DEFAULT_BACKLOG_FACTOR = 10
const DEFAULT_MAX_BUFFERED = 10_000
const DEFAULT_RETRY_BASE_MS = 1000
const DEFAULT_RETRY_MAX_MS = 60_000

export interface BatchWriterOptions<Input, Row> {
  /** Names the metrics (`parley_<name>_rows_written_total`) and log lines. */
  readonly name: string
  /** Human name of a row in metric help, e.g. `Usage log`. */
  readonly label: string
  /** Turns what callers record into a row; must not throw for valid input. */
  readonly toRow: (input: Input) => Row
  /** A fresh EntityManager per batch (`db.em`). */
  readonly em: () => EntityManager
  /**
   * Writes one batch, all of it or none (it is retried whole), e.g. `em.insertMany(Entity, rows)`.
   * A writer that keeps other tables in step with its rows (the usage rollups) does it here, in
   * one transaction.
   */
  readonly insert: (em: EntityManager, rows: Row[]) => Promise<unknown>
  readonly log: Logger
  /** When given, rows written and dropped are counted there. */
  readonly metrics?: Registry
  readonly flushIntervalMs?: number
  /** A batch is written as soon as this many rows wait. */
  readonly batchSize?: number
  /**
   * The most rows one insert carries (default 10 × `batchSize`). A batch takes every waiting
   * row up to this: when the database or a busy event loop falls behind, each write (a few
   * round trips whatever its size) catches up on more rows at once.
   */
  readonly maxBatchSize?: number
  /** Rows held while the database is slow or down; beyond it the oldest are dropped. */
  readonly maxBuffered?: number
  /** First wait after a failed write; doubles per failure up to `retryMaxMs`. */
  readonly retryBaseMs?: number
  readonly retryMaxMs?: number
}

export interface BatchWriterStats {
  readonly buffered: number
  readonly written: number
  readonly dropped: number
  /** Consecutive failed writes; 0 once a write succeeds again. */
  readonly failures: number
}

/**
 * Buffers rows and writes them in multi-row inserts off the request path. `record()` is
 * synchronous and cannot fail; a database outage keeps rows (up to `maxBuffered`, oldest
 * dropped first) and retries with backoff. Call `close()` on shutdown.
 */
export class BatchWriter<Input, Row> {
  private buffer: Row[] = []
  private draining: Promise<void> | undefined
  private scheduled = false
  private closed = false
  private retryAt = 0
  private counts = { written: 0, dropped: 0, failures: 0, droppedUnreported: 0 }
  private readonly timer: NodeJS.Timeout
  private readonly batchSize: number
  private readonly maxBatchSize: number
  private readonly maxBuffered: number
  private readonly writtenTotal: Counter | undefined
  private readonly droppedTotal: Counter | undefined

  constructor(private readonly options: BatchWriterOptions<Input, Row>) {
    this.batchSize = Math.max(1, options.batchSize ?? DEFAULT_BATCH_SIZE)
    this.maxBatchSize = Math.max(this.batchSize, options.maxBatchSize ?? this.batchSize * DEFAULT_BACKLOG_FACTOR)
    this.maxBuffered = Math.max(this.batchSize, options.maxBuffered ?? DEFAULT_MAX_BUFFERED)
    if (options.metrics) {
      this.writtenTotal = counter(
        options.metrics,
        `parley_${options.name}_rows_written_total`,
        `${options.label} rows written to the database`,
      )
      this.droppedTotal = counter(
        options.metrics,
        `parley_${options.name}_rows_dropped_total`,
        `${options.label} rows dropped because the buffer was full or the writer closed`,
      )
    }
    this.timer = setInterval(() => this.tick(), options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS)
    this.timer.unref()
  }

  get stats(): BatchWriterStats {
    const { written, dropped, failures } = this.counts
    return { buffered: this.buffer.length, written, dropped, failures }
  }

  /** Queues one row; returns at once and never throws, whatever the database is doing. */
  record(record: Input): void {
    try {
      if (this.closed) {
        this.drop(1)
        return
      }
      this.buffer.push(this.options.toRow(record))
      if (this.buffer.length > this.maxBuffered)
        this.drop(this.buffer.splice(0, this.buffer.length - this.maxBuffered).length)
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
      this.options.log.error(
        { rows: lost },
        `${this.options.name} rows could not be written before shutdown and are lost`,
      )
    }
  }

  private tick(): void {
    if (this.counts.droppedUnreported > 0) {
      this.options.log.warn(
        { dropped: this.counts.droppedUnreported, max_buffered: this.maxBuffered },
        `${this.options.name} buffer full: oldest rows dropped`,
      )
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

  /**
   * Writes batches until the buffer is empty (`strict`: a flush) or, in the background, while a
   * full batch waits: the rows that trickle in during an insert wait for the next batch or the
   * timer, so steady traffic makes a few large inserts instead of many tiny ones. A batch takes
   * every waiting row, up to `maxBatchSize`.
   */
  private async writeAll(strict: boolean): Promise<void> {
    for (
      let first = true;
      this.buffer.length > 0 && (strict || first || this.buffer.length >= this.batchSize);
      first = false
    ) {
      const batch = this.buffer.splice(0, this.maxBatchSize)
      try {
        await this.options.insert(this.options.em(), batch)
      } catch (error) {
        this.failed(batch, error)
        if (strict) throw new Error(`${this.options.name} rows could not be written: ${describe(error)}`)
        return
      }
      this.counts.written += batch.length
      this.counts.failures = 0
      this.retryAt = 0
      this.writtenTotal?.inc(batch.length)
    }
  }

  private failed(batch: Row[], error: unknown): void {
    // Back in front, in order; rows that arrived meanwhile may now push the oldest out.
    this.buffer.unshift(...batch)
    if (this.buffer.length > this.maxBuffered)
      this.drop(this.buffer.splice(0, this.buffer.length - this.maxBuffered).length)
    this.counts.failures++
    const base = this.options.retryBaseMs ?? DEFAULT_RETRY_BASE_MS
    const wait = Math.min(
      this.options.retryMaxMs ?? DEFAULT_RETRY_MAX_MS,
      base * 2 ** Math.min(this.counts.failures - 1, 20),
    )
    this.retryAt = Date.now() + wait
    this.options.log.warn(
      { reason: describe(error), rows: this.buffer.length, retry_in_ms: wait },
      `${this.options.name} rows not written; will retry`,
    )
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

/**
 * Fits text to a column of `length` characters, never leaving half a surrogate pair. A NUL or
 * a lone half of a pair cannot be stored as sent in every database (SQLite's JSON functions end
 * a string at a NUL and keep a lone half as invalid UTF-8): each becomes U+FFFD, the same everywhere.
 */
export function fit(text: string, length: number): string {
  if (!text.isWellFormed() || text.includes('\0')) text = text.toWellFormed().replaceAll('\0', '\uFFFD')
  if (text.length <= length) return text
  const cut = text.slice(0, length)
  // Never leave half a surrogate pair: MySQL would refuse the row.
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut
}

/** A non-negative integer that fits a signed 32-bit column. */
export function count(value: number): number {
  return Number.isFinite(value) ? Math.min(2_147_483_647, Math.max(0, Math.round(value))) : 0
}

/** The error's class and code only: driver messages quote the failed SQL, and with it row values. */
function describe(error: unknown): string {
  const { name, code } = (error ?? {}) as { name?: unknown; code?: unknown }
  const kind = typeof name === 'string' ? name : 'Error'
  return typeof code === 'string' || typeof code === 'number' ? `${kind} (${code})` : kind
}
