import { randomUUID } from 'node:crypto'
import { ErrorCode, Queue, Worker, type Job, type KeepJobs } from 'bullmq'
import { Redis } from 'ioredis'
import { errors } from '../errors.js'
import type { Logger } from '../logger.js'
import { overviewOf, runsOf } from './bullmq-inspect.js'
import { checkEnqueueOptions, logFailure, messageOf, resolveJob, type ResolvedJob } from './definition.js'
import type { EnqueueOptions, JobDefinition, JobQueue, JobRun } from './port.js'
import { KEEP_COMPLETED, KEEP_FAILED, type JobOverview, type JobRunsPage, type JobRunsQuery } from './views.js'
import { quitRedis } from '../kv/redis-connection.js'

export const DEFAULT_PREFIX = 'parley'
/** Finished jobs kept for the admin view, bounded so Redis does not grow with every run. */
const REMOVE_ON_COMPLETE: KeepJobs = { count: KEEP_COMPLETED.count, age: KEEP_COMPLETED.ageMs / 1000 }
const REMOVE_ON_FAIL: KeepJobs = { count: KEEP_FAILED.count, age: KEEP_FAILED.ageMs / 1000 }
/** ioredis reports every failed reconnect; one line per source and message is enough. */
const ERROR_LOG_INTERVAL_MS = 30_000

export interface BullMqJobQueueOptions {
  /** redis:// or rediss:// URL; its password never reaches the logs. */
  readonly url: string
  /** Namespaces the Redis keys; gateways sharing a prefix share jobs and schedules. */
  readonly prefix?: string
  readonly logger: Logger
}

interface Defined {
  readonly job: ResolvedJob
  readonly queue: Queue
}

/**
 * Jobs on Redis with BullMQ, for several gateway instances: one Queue and one Worker per job
 * name, cron through job schedulers so N instances register one schedule and each tick runs once.
 */
export class BullMqJobQueue implements JobQueue {
  readonly kind = 'bullmq' as const
  readonly #log: Logger
  readonly #prefix: string
  readonly #password: string | undefined
  /** Shared by the queues; keeps ioredis' retry limit so an enqueue in an outage fails, not hangs. */
  readonly #producer: Redis
  /** BullMQ duplicates this for each worker, whose blocking requests must never give up. */
  readonly #workerTemplate: Redis
  readonly #defined = new Map<string, Defined>()
  readonly #workers: Worker[] = []
  readonly #lastReported = new Map<string, number>()
  /** Aborted once close() released the connections: calls still awaiting Redis then fail. */
  readonly #closing = new AbortController()
  #started: Promise<void> | undefined
  #closed: Promise<void> | undefined

  constructor(options: BullMqJobQueueOptions) {
    this.#log = options.logger
    this.#prefix = options.prefix ?? DEFAULT_PREFIX
    this.#password = passwordOf(options.url)
    // Not lazyConnect: BullMQ calls connect() on a lazy client, whose first refusal then breaks
    // the queue for good, while a connecting client is awaited through ioredis' reconnects.
    this.#producer = new Redis(options.url)
    this.#workerTemplate = new Redis(options.url, { maxRetriesPerRequest: null })
    this.#producer.on('error', (error: unknown) => this.#reportError('producer', error))
    this.#workerTemplate.on('error', (error: unknown) => this.#reportError('worker', error))
  }

  define<TData>(definition: JobDefinition<TData>): void {
    if (this.#closed) throw errors.PARLEY_ERR_JOB_CLOSED()
    if (this.#started) throw errors.PARLEY_ERR_JOB_STARTED({ name: definition.name })
    const job = resolveJob(definition)
    if (this.#defined.has(job.name)) throw errors.PARLEY_ERR_JOB_DUPLICATE({ name: job.name })
    const queue = new Queue(job.name, {
      connection: this.#producer,
      prefix: this.#prefix,
      // Also the template of scheduler-made jobs, so cron runs retry the same way.
      defaultJobOptions: {
        attempts: job.attempts,
        backoff: { type: 'exponential', delay: job.backoffMs },
        removeOnComplete: REMOVE_ON_COMPLETE,
        removeOnFail: REMOVE_ON_FAIL,
      },
    })
    queue.on('error', error => this.#reportError(job.name, error))
    this.#defined.set(job.name, { job, queue })
  }

  async enqueue<TData>(name: string, data: TData, options: EnqueueOptions = {}): Promise<string> {
    if (this.#closed) throw errors.PARLEY_ERR_JOB_CLOSED()
    const defined = this.#defined.get(name)
    if (!defined) throw errors.PARLEY_ERR_JOB_UNKNOWN({ name })
    checkEnqueueOptions(name, options)
    // Deduplication rather than the caller's jobId as BullMQ's: a jobId stays taken while the
    // finished job is kept for history, but the port promises dedupe only while it is queued or
    // running. A UUID rather than BullMQ's counter, which counts per queue: the admin retry
    // names a run by its id alone, as in the in-process runner.
    const added = await this.#unlessClosed(
      defined.queue.add(name, data, {
        jobId: randomUUID(),
        ...(options.delayMs ? { delay: options.delayMs } : {}),
        ...(options.jobId !== undefined ? { deduplication: { id: options.jobId } } : {}),
      }),
    )
    if (added.id === undefined) throw new Error(`BullMQ returned no id for a job of ${name}`)
    return added.id
  }

  start(): Promise<void> {
    if (this.#closed) return Promise.reject(errors.PARLEY_ERR_JOB_CLOSED())
    // A failed start (Redis unreachable) may be retried, so it is not remembered.
    this.#started ??= this.#unlessClosed(this.#startWorkers()).catch(error => {
      this.#started = undefined
      throw error
    })
    return this.#started
  }

  async #startWorkers(): Promise<void> {
    for (const { job, queue } of this.#defined.values()) {
      if (job.cron !== undefined) {
        // Upsert by a fixed id: every instance writes the same scheduler, so one schedule exists.
        await queue
          .upsertJobScheduler(job.name, { pattern: job.cron, tz: job.timezone }, { name: job.name, data: {} })
          .catch((error: unknown) => {
            // Two instances starting at once: the other one made this tick's job first, for the same schedule.
            if ((error as { code?: unknown }).code !== ErrorCode.SchedulerJobIdCollision) throw error
          })
      } else {
        // The queue belongs to this job alone, so a scheduler here is a cron since removed from it.
        await queue.removeJobScheduler(job.name)
      }
    }
    // close() may have run while Redis was slow to answer; it will not wait for workers made now.
    if (this.#closed) return
    for (const { job } of this.#defined.values()) {
      const worker = new Worker(job.name, (bullJob: Job) => this.#process(job, bullJob), {
        connection: this.#workerTemplate,
        prefix: this.#prefix,
        concurrency: job.concurrency,
      })
      worker.on('error', error => this.#reportError(job.name, error))
      this.#workers.push(worker)
    }
  }

  async #process(job: ResolvedJob, bullJob: Job): Promise<void> {
    const id = bullJob.id ?? ''
    const attempt = bullJob.attemptsMade + 1
    const run: JobRun<unknown> = {
      id,
      name: job.name,
      data: bullJob.data,
      attempt,
      log: this.#log.child({ job: job.name, jobId: id, attempt }),
    }
    try {
      await job.handler(run)
    } catch (error) {
      // The job's own options: a run queued by an older deployment may carry other attempts.
      const attempts = bullJob.opts.attempts ?? job.attempts
      logFailure(this.#log, run, attempts, error, attempt < attempts)
      throw error
    }
  }

  async overview(): Promise<JobOverview[]> {
    if (this.#closed) throw errors.PARLEY_ERR_JOB_CLOSED()
    return this.#unlessClosed(Promise.all([...this.#defined.values()].map(({ job, queue }) => overviewOf(job, queue))))
  }

  async runs(name: string, query: JobRunsQuery): Promise<JobRunsPage> {
    if (this.#closed) throw errors.PARLEY_ERR_JOB_CLOSED()
    const defined = this.#defined.get(name)
    if (!defined) throw errors.PARLEY_ERR_JOB_NOT_FOUND({ name })
    return this.#unlessClosed(runsOf(name, defined.queue, this.#producer, query))
  }

  async retry(id: string): Promise<void> {
    if (this.#closed) throw errors.PARLEY_ERR_JOB_CLOSED()
    const found = await this.#unlessClosed(
      Promise.all([...this.#defined.values()].map(({ queue }) => queue.getJob(id))),
    )
    const job = found.find(candidate => candidate !== undefined)
    if (!job) throw errors.PARLEY_ERR_JOB_RUN_NOT_FOUND({ id })
    try {
      // Checks the state and moves the job in one script, so a run is never queued twice.
      await this.#unlessClosed(job.retry('failed'))
    } catch (error) {
      const code = (error as { code?: unknown }).code
      if (code === ErrorCode.JobNotExist) throw errors.PARLEY_ERR_JOB_RUN_NOT_FOUND({ id }, { cause: error })
      if (code === ErrorCode.JobNotInState)
        throw errors.PARLEY_ERR_JOB_RUN_NOT_FAILED({ id, state: await job.getState() }, { cause: error })
      throw error
    }
  }

  close(): Promise<void> {
    // Aborted once connections are released, so nothing in flight is refused while it can finish.
    this.#closed ??= this.#shutdown().finally(() => this.#closing.abort())
    return this.#closed
  }

  /** Settles `work`, or fails it with PARLEY_ERR_JOB_CLOSED once the queue has closed. */
  #unlessClosed<T>(work: Promise<T>): Promise<T> {
    const { signal } = this.#closing
    return new Promise<T>((resolve, reject) => {
      const closed = (): void => reject(errors.PARLEY_ERR_JOB_CLOSED())
      signal.addEventListener('abort', closed, { once: true })
      work
        .then(resolve, (error: unknown) =>
          reject(this.#closed ? errors.PARLEY_ERR_JOB_CLOSED({}, { cause: error }) : error),
        )
        .finally(() => signal.removeEventListener('abort', closed))
    })
  }

  async #shutdown(): Promise<void> {
    await Promise.all(this.#workers.map(worker => worker.close()))
    await Promise.all([...this.#defined.values()].map(({ queue }) => queue.close()))
    await Promise.all([quitRedis(this.#producer), quitRedis(this.#workerTemplate)])
  }

  #reportError(source: string, error: unknown): void {
    let message = messageOf(error)
    if (this.#password) message = message.replaceAll(this.#password, '***')
    const key = `${source}\n${message}`
    const now = Date.now()
    if (now - (this.#lastReported.get(key) ?? 0) < ERROR_LOG_INTERVAL_MS) return
    if (this.#lastReported.size > 100) this.#lastReported.clear()
    this.#lastReported.set(key, now)
    this.#log.error({ source, prefix: this.#prefix, error: message }, 'job queue Redis error')
  }
}

function passwordOf(url: string): string | undefined {
  try {
    const { password } = new URL(url)
    return password ? decodeURIComponent(password) : undefined
  } catch {
    return undefined
  }
}
