import { errors } from '../errors.js'
import type { Logger } from '../logger.js'
import { checkEnqueueOptions, logFailure, messageOf, nextCronTime, resolveJob, type ResolvedJob } from './definition.js'
import {
  keepFinished,
  newestFirst,
  newRun,
  newSlot,
  overviewOf,
  viewOf,
  type Run,
  type Slot,
} from './in-process-runs.js'
import type { EnqueueOptions, JobDefinition, JobQueue, JobRun } from './port.js'
import { errorSummary, type JobOverview, type JobRunsPage, type JobRunsQuery } from './views.js'

/** setTimeout turns longer delays into 1 ms, so far-off times are reached in several steps. */
const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * Runs jobs inside this process for embedded, single-instance use. Nothing survives a
 * restart: queued and delayed runs are dropped at close (and logged as such), and the run
 * history of the admin view is kept in memory only.
 */
export class InProcessJobQueue implements JobQueue {
  readonly kind = 'in-process' as const
  readonly #log: Logger
  readonly #slots = new Map<string, Slot>()
  readonly #timers = new Set<NodeJS.Timeout>()
  readonly #running = new Set<Promise<void>>()
  #finishes = 0
  #started = false
  #closed: Promise<void> | undefined

  constructor(options: { logger: Logger }) {
    this.#log = options.logger
  }

  define<TData>(definition: JobDefinition<TData>): void {
    if (this.#closed) throw errors.PARLEY_ERR_JOB_CLOSED()
    if (this.#started) throw errors.PARLEY_ERR_JOB_STARTED({ name: definition.name })
    const job = resolveJob(definition)
    if (this.#slots.has(job.name)) throw errors.PARLEY_ERR_JOB_DUPLICATE({ name: job.name })
    this.#slots.set(job.name, newSlot(job))
  }

  async enqueue<TData>(name: string, data: TData, options: EnqueueOptions = {}): Promise<string> {
    if (this.#closed) throw errors.PARLEY_ERR_JOB_CLOSED()
    const slot = this.#slots.get(name)
    if (!slot) throw errors.PARLEY_ERR_JOB_UNKNOWN({ name })
    checkEnqueueOptions(name, options)
    const { jobId } = options
    const queuedId = jobId === undefined ? undefined : slot.queuedIds.get(jobId)
    if (queuedId !== undefined) return queuedId
    // The JSON round trip hands the handler what BullMQ would, so a Date or class instance
    // in job data shows up in embedded mode rather than after switching to Redis.
    const copy: unknown = data === undefined ? undefined : JSON.parse(JSON.stringify(data))
    const run = newRun(copy, jobId, false)
    if (jobId !== undefined) slot.queuedIds.set(jobId, run.id)
    this.#queue(slot, run, Date.now() + (options.delayMs ?? 0))
    return run.id
  }

  async start(): Promise<void> {
    if (this.#closed) throw errors.PARLEY_ERR_JOB_CLOSED()
    if (this.#started) return
    this.#started = true
    for (const slot of this.#slots.values()) {
      const { cron } = slot.job
      if (cron !== undefined) this.#scheduleCron(slot, { ...slot.job, cron }, Date.now())
      this.#pump(slot)
    }
  }

  close(): Promise<void> {
    this.#closed ??= this.#shutdown()
    return this.#closed
  }

  async overview(): Promise<JobOverview[]> {
    if (this.#closed) throw errors.PARLEY_ERR_JOB_CLOSED()
    return [...this.#slots.values()].map(overviewOf)
  }

  async runs(name: string, query: JobRunsQuery): Promise<JobRunsPage> {
    if (this.#closed) throw errors.PARLEY_ERR_JOB_CLOSED()
    const slot = this.#slots.get(name)
    if (!slot) throw errors.PARLEY_ERR_JOB_NOT_FOUND({ name })
    const runs = newestFirst(slot, query.state)
    const start = (query.page - 1) * query.pageSize
    return { items: runs.slice(start, start + query.pageSize).map(run => viewOf(name, run)), total: runs.length }
  }

  async retry(id: string): Promise<void> {
    if (this.#closed) throw errors.PARLEY_ERR_JOB_CLOSED()
    for (const slot of this.#slots.values()) {
      const index = slot.failed.findIndex(run => run.id === id)
      if (index >= 0) {
        // As BullMQ's job.retry('failed'): same id and data, the attempt count goes on.
        const [run] = slot.failed.splice(index, 1) as [Run]
        run.error = null
        run.startedAt = undefined
        run.finishedAt = undefined
        this.#wait(slot, run)
        return
      }
      const other = [...slot.active, ...slot.waiting, ...slot.delayed, ...slot.completed].find(
        candidate => candidate.id === id,
      )
      if (other) throw errors.PARLEY_ERR_JOB_RUN_NOT_FAILED({ id, state: other.state })
    }
    throw errors.PARLEY_ERR_JOB_RUN_NOT_FOUND({ id })
  }

  async #shutdown(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
    let dropped = 0
    for (const slot of this.#slots.values()) {
      dropped += slot.waiting.length + [...slot.delayed].filter(run => !run.scheduled).length
      slot.waiting.length = 0
      slot.delayed.clear()
      slot.nextCronAt = undefined
    }
    if (dropped > 0) this.#log.warn({ dropped }, 'in-process job queue closed with runs still queued; they are dropped')
    await Promise.all(this.#running)
  }

  /** Queues `run` to start at `at`; `onDue` runs once it is no longer delayed. */
  #queue(slot: Slot, run: Run, at: number, onDue?: () => void): void {
    if (at <= Date.now()) {
      this.#wait(slot, run)
      onDue?.()
      return
    }
    run.state = 'delayed'
    run.dueAt = at
    slot.delayed.add(run)
    this.#at(at, () => {
      slot.delayed.delete(run)
      this.#wait(slot, run)
      onDue?.()
    })
  }

  #wait(slot: Slot, run: Run): void {
    run.state = 'waiting'
    slot.waiting.push(run)
    this.#pump(slot)
  }

  /** Each tick is a delayed run until it is due, as BullMQ's job scheduler keeps the next one. */
  #scheduleCron(slot: Slot, job: ResolvedJob & { cron: string }, after: number): void {
    const next = nextCronTime(job, after)
    slot.nextCronAt = next
    // From the tick just served, so a timer that fires a little early cannot repeat it.
    this.#queue(slot, newRun({}, undefined, true), next, () =>
      this.#scheduleCron(slot, job, Math.max(Date.now(), next)),
    )
  }

  /** Unref'd: pending jobs never keep the process alive on their own. */
  #at(time: number, callback: () => void): void {
    const timer = setTimeout(
      () => {
        this.#timers.delete(timer)
        if (Date.now() < time) this.#at(time, callback)
        else callback()
      },
      Math.min(Math.max(time - Date.now(), 0), MAX_TIMER_MS),
    )
    timer.unref()
    this.#timers.add(timer)
  }

  #pump(slot: Slot): void {
    if (!this.#started || this.#closed) return
    while (slot.active.length < slot.job.concurrency) {
      const run = slot.waiting.shift()
      if (!run) return
      const running: Promise<void> = this.#attempt(slot, run).finally(() => {
        this.#running.delete(running)
        this.#pump(slot)
      })
      this.#running.add(running)
    }
  }

  /** Never rejects: a failure is retried or logged here. Marks the run active before its first await. */
  async #attempt(slot: Slot, run: Run): Promise<void> {
    const { job } = slot
    run.state = 'active'
    run.startedAt = Date.now()
    slot.active.push(run)
    const attempt = run.attemptsMade + 1
    const jobRun: JobRun<unknown> = {
      id: run.id,
      name: job.name,
      data: run.data,
      attempt,
      log: this.#log.child({ job: job.name, jobId: run.id, attempt }),
    }
    let failure: { error: unknown } | undefined
    try {
      await job.handler(jobRun)
    } catch (error) {
      failure = { error }
    }
    slot.active.splice(slot.active.indexOf(run), 1)
    run.attemptsMade = attempt
    if (!failure) {
      this.#finish(slot, run, 'completed')
      return
    }
    run.error = errorSummary(messageOf(failure.error))
    const retrying = attempt < job.attempts && !this.#closed
    logFailure(this.#log, jobRun, job.attempts, failure.error, retrying)
    if (retrying) this.#queue(slot, run, Date.now() + job.backoffMs * 2 ** (attempt - 1))
    else this.#finish(slot, run, 'failed')
  }

  #finish(slot: Slot, run: Run, state: 'completed' | 'failed'): void {
    keepFinished(slot, Object.assign(run, { state, finishedAt: Date.now(), finishSeq: ++this.#finishes }))
    // A retried run must not release a jobId that a newer run has taken since.
    if (run.jobId !== undefined && slot.queuedIds.get(run.jobId) === run.id) slot.queuedIds.delete(run.jobId)
  }
}
