import type { Logger } from '../logger.js'

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
}
