import { randomUUID } from 'node:crypto'
import { errors } from '../errors.js'
import type { Logger } from '../logger.js'
import { checkEnqueueOptions, logFailure, nextCronTime, resolveJob, type ResolvedJob } from './definition.js'
import type { EnqueueOptions, JobDefinition, JobQueue, JobRun } from './port.js'

/** setTimeout turns longer delays into 1 ms, so far-off times are reached in several steps. */
const MAX_TIMER_MS = 2 ** 31 - 1

interface QueuedRun {
  readonly id: string
  readonly data: unknown
  readonly attempt: number
  readonly jobId: string | undefined
}

interface Slot {
  readonly job: ResolvedJob
  readonly waiting: QueuedRun[]
  /** jobId → run id, from enqueue until the run succeeds or fails for good. */
  readonly queuedIds: Map<string, string>
  running: number
  /** Runs waiting on a delay or a retry backoff timer. */
  delayed: number
}

/**
 * Runs jobs inside this process for embedded, single-instance use. Nothing survives a
 * restart: queued and delayed runs are dropped at close (and logged as such).
 */
export class InProcessJobQueue implements JobQueue {
  readonly kind = 'in-process' as const
  readonly #log: Logger
  readonly #slots = new Map<string, Slot>()
  readonly #timers = new Set<NodeJS.Timeout>()
  readonly #running = new Set<Promise<void>>()
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
    this.#slots.set(job.name, { job, waiting: [], queuedIds: new Map(), running: 0, delayed: 0 })
  }

  async enqueue<TData>(name: string, data: TData, options: EnqueueOptions = {}): Promise<string> {
    if (this.#closed) throw errors.PARLEY_ERR_JOB_CLOSED()
    const slot = this.#slots.get(name)
    if (!slot) throw errors.PARLEY_ERR_JOB_UNKNOWN({ name })
    checkEnqueueOptions(name, options)
    const { jobId } = options
    const queuedId = jobId === undefined ? undefined : slot.queuedIds.get(jobId)
    if (queuedId !== undefined) return queuedId
    const id = randomUUID()
    if (jobId !== undefined) slot.queuedIds.set(jobId, id)
    // The JSON round trip hands the handler what BullMQ would, so a Date or class instance
    // in job data shows up in embedded mode rather than after switching to Redis.
    const copy: unknown = data === undefined ? undefined : JSON.parse(JSON.stringify(data))
    this.#queue(slot, { id, data: copy, attempt: 1, jobId }, Date.now() + (options.delayMs ?? 0))
    return id
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

  async #shutdown(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
    let dropped = 0
    for (const slot of this.#slots.values()) {
      dropped += slot.waiting.length + slot.delayed
      slot.waiting.length = 0
      slot.delayed = 0
    }
    if (dropped > 0) this.#log.warn({ dropped }, 'in-process job queue closed with runs still queued; they are dropped')
    await Promise.all(this.#running)
  }

  #queue(slot: Slot, run: QueuedRun, at: number): void {
    if (at <= Date.now()) {
      slot.waiting.push(run)
      this.#pump(slot)
      return
    }
    slot.delayed += 1
    this.#at(at, () => {
      slot.delayed -= 1
      slot.waiting.push(run)
      this.#pump(slot)
    })
  }

  #scheduleCron(slot: Slot, job: ResolvedJob & { cron: string }, after: number): void {
    const next = nextCronTime(job, after)
    this.#at(next, () => {
      this.#queue(slot, { id: randomUUID(), data: {}, attempt: 1, jobId: undefined }, 0)
      // From the tick just served, so a timer that fires a little early cannot repeat it.
      this.#scheduleCron(slot, job, Math.max(Date.now(), next))
    })
  }

  /** Unref'd: pending jobs never keep the process alive on their own. */
  #at(time: number, callback: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      if (Date.now() < time) this.#at(time, callback)
      else callback()
    }, Math.min(Math.max(time - Date.now(), 0), MAX_TIMER_MS))
    timer.unref()
    this.#timers.add(timer)
  }

  #pump(slot: Slot): void {
    if (!this.#started || this.#closed) return
    while (slot.running < slot.job.concurrency) {
      const run = slot.waiting.shift()
      if (!run) return
      slot.running += 1
      const running: Promise<void> = this.#attempt(slot, run).finally(() => {
        slot.running -= 1
        this.#running.delete(running)
        this.#pump(slot)
      })
      this.#running.add(running)
    }
  }

  /** Never rejects: a failure is retried or logged here. */
  async #attempt(slot: Slot, queued: QueuedRun): Promise<void> {
    const { job } = slot
    const run: JobRun<unknown> = {
      id: queued.id,
      name: job.name,
      data: queued.data,
      attempt: queued.attempt,
      log: this.#log.child({ job: job.name, jobId: queued.id, attempt: queued.attempt }),
    }
    try {
      await job.handler(run)
    } catch (error) {
      const retrying = queued.attempt < job.attempts && !this.#closed
      logFailure(this.#log, run, job.attempts, error, retrying)
      if (retrying) {
        const delay = job.backoffMs * 2 ** (queued.attempt - 1)
        this.#queue(slot, { ...queued, attempt: queued.attempt + 1 }, Date.now() + delay)
        return
      }
    }
    if (queued.jobId !== undefined) slot.queuedIds.delete(queued.jobId)
  }
}
