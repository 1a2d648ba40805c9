import type { EventBus } from '../events/bus.js'
import type { HttpScope } from '../http/server.js'
import type { JobQueue, JobRun } from '../jobs/port.js'
import type { Registry } from '../kernel/registry.js'
import type { SettingsRegistry } from '../settings/registry.js'
import type { RetentionTask } from './task.js'

export const RETENTION_JOB = 'core.retention'
/**
 * Daily at 19:30 UTC: 03:30 in China, where most deployments are, and late evening in Europe.
 * Batches keep each statement short, so the hour matters little; a fixed UTC time is used
 * because a cron cannot follow the `time_zone` setting when it changes at runtime.
 */
export const RETENTION_CRON = '30 19 * * *'
/** Rows per delete statement: each locks a few milliseconds' worth of rows, never a table. */
export const RETENTION_BATCH_SIZE = 2000
const DAY_MS = 86_400_000

export interface RetentionJobOptions {
  readonly jobs: JobQueue
  readonly tasks: Registry<RetentionTask>
  readonly settings: SettingsRegistry
  readonly events: EventBus
  readonly batchSize?: number
}

/** What a run did; also the `retention.finished` event. */
export interface RetentionReport {
  /** ISO time: rows older than this were due. */
  readonly before: string
  /** Rows deleted per task id. */
  readonly deleted: Readonly<Record<string, number>>
  /** Ids of tasks that failed; the run is retried by the queue and the others find nothing left. */
  readonly failed: readonly string[]
}

declare module '../events/bus.js' {
  interface ParleyEvents {
    /** A run of the daily retention job ended (on the instance that ran it). */
    'retention.finished': RetentionReport
  }
}

/**
 * Defines `core.retention`: once a day (once per deployment with BullMQ, whose scheduler holds
 * one schedule for all instances) every registered retention task runs with `before = now −
 * log_retention_days`. Tasks are idempotent, so a retried or manually queued run
 * (`jobs.enqueue('core.retention', {})`) only deletes what is due. Shutdown stops a run between
 * batches instead of waiting for it.
 */
export function installRetentionJob(app: HttpScope, options: RetentionJobOptions): void {
  const stopping = new AbortController()
  app.addHook('onClose', async () => stopping.abort())
  options.jobs.define({
    name: RETENTION_JOB,
    cron: RETENTION_CRON,
    handler: run => runRetention(run, options, stopping.signal),
  })
}

async function runRetention(run: JobRun<unknown>, options: RetentionJobOptions, signal: AbortSignal): Promise<void> {
  const started = Date.now()
  const now = new Date(started)
  const before = new Date(started - options.settings.get('log_retention_days') * DAY_MS)
  const batchSize = options.batchSize ?? RETENTION_BATCH_SIZE
  const deleted: Record<string, number> = {}
  const failed: string[] = []
  for (const { key, item, owner } of options.tasks.list()) {
    if (signal.aborted) break
    const taskStarted = Date.now()
    try {
      deleted[key] = await item.prune({ now, before, batchSize, signal })
      run.log.info({ task: key, owner, deleted: deleted[key], ms: Date.now() - taskStarted }, 'retention task done')
    } catch (error) {
      failed.push(key)
      run.log.error({ task: key, owner, err: error }, 'retention task failed')
    }
  }
  const report: RetentionReport = { before: before.toISOString(), deleted, failed }
  run.log.info({ ...report, ms: Date.now() - started, stopped: signal.aborted }, 'retention run finished')
  options.events.emit('retention.finished', report)
  if (failed.length > 0) throw new Error(`retention tasks failed: ${failed.join(', ')}`)
}
