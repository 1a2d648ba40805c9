import type { Logger } from '../logger.js'
import type { JobOverview, JobRunsPage, JobRunsQuery } from './views.js'

/** What a job handler receives for one attempt. */
export interface JobRun<TData = unknown> {
  /** Stable id of the job (the same across retries). */
  readonly id: string
  readonly name: string
  readonly data: TData
  /** 1 for the first attempt, 2 for the first retry, and so on. */
  readonly attempt: number
  readonly log: Logger
}

/**
 * A background job. Names are `<plugin-id>.<job>` in kebab-case, unique per gateway.
 *
 * @example
 * ctx.jobs.define({
 *   name: 'tickets.expire',
 *   cron: '0 3 * * *',
 *   async handler(run) { await expireOldTickets(run.log) },
 * })
 */
export interface JobDefinition<TData = unknown> {
  readonly name: string
  handler(run: JobRun<TData>): Promise<void>
  /** Cron pattern (5 fields, or 6 with seconds). The job is scheduled once per deployment. */
  readonly cron?: string
  /** IANA time zone for `cron`; UTC by default. */
  readonly timezone?: string
  /** Total attempts before the job counts as failed; default 3. */
  readonly attempts?: number
  /** First retry delay in ms, doubled for each further retry; default 1000. */
  readonly backoffMs?: number
  /** Jobs of this name run at most this many at a time per instance; default 1. */
  readonly concurrency?: number
}

export interface EnqueueOptions {
  /** Run no earlier than this many ms from now. */
  readonly delayMs?: number
  /** Deduplicates: a job with an id that is already queued is not added again. */
  readonly jobId?: string
}

/**
 * The jobs port. BullMQ on Redis when `REDIS_URL` is set, an in-process runner otherwise;
 * both pass the same contract test.
 */
export interface JobQueue {
  readonly kind: 'in-process' | 'bullmq'
  /** Declares a job; only before `start()`. A duplicate name is an error. */
  define<TData>(definition: JobDefinition<TData>): void
  /** Queues one run of a defined job; resolves to its id. */
  enqueue<TData>(name: string, data: TData, options?: EnqueueOptions): Promise<string>
  /** Starts workers and registers cron schedules. */
  start(): Promise<void>
  /** Stops taking new work, waits for running jobs, then releases connections. */
  close(): Promise<void>

  /** One entry per defined job, in definition order: counts, the last finished run, the next cron tick. */
  overview(): Promise<JobOverview[]>
  /**
   * Runs of one job, newest first: with `state: 'all'` the runs not finished yet lead (active,
   * then waiting, then delayed, each latest first), then finished runs by finish time. Finished
   * runs are kept for a while only (1000 completed for 7 days, 5000 failed for 30 days).
   * An undefined name is PARLEY_ERR_JOB_NOT_FOUND.
   *
   * @example
   * const { items, total } = await jobs.runs('core.retention', { state: 'failed', page: 1, pageSize: 20 })
   */
  runs(name: string, query: JobRunsQuery): Promise<JobRunsPage>
  /**
   * Queues a failed run again, with its data and id, for one more attempt (its attempt count
   * goes on, so `run.attempt` is one more than its last). PARLEY_ERR_JOB_RUN_NOT_FOUND for an
   * unknown id, PARLEY_ERR_JOB_RUN_NOT_FAILED for a run in any other state.
   */
  retry(id: string): Promise<void>
}
