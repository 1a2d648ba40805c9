import { randomUUID } from 'node:crypto'
import type { ResolvedJob } from './definition.js'
import {
  isoOrNull,
  KEEP_COMPLETED,
  KEEP_FAILED,
  type JobOverview,
  type JobRunsFilter,
  type JobRunState,
  type JobRunView,
} from './views.js'

/*
 * The in-process runner's records: one per run, held by state per job, and what the admin
 * view reads of them, in the order and shapes the BullMQ driver gives.
 */

/** One run of a job through all its attempts. */
export interface Run {
  readonly id: string
  /** Dropped once the run completes: only a failed run can be retried, so only it needs its data. */
  data: unknown
  readonly jobId: string | undefined
  /** Made by the cron schedule, which makes it again after a restart: dropping it at close loses nothing. */
  readonly scheduled: boolean
  state: JobRunState
  /** Attempts finished so far; the next one is number `attemptsMade + 1`. */
  attemptsMade: number
  readonly createdAt: number
  startedAt: number | undefined
  finishedAt: number | undefined
  /** Orders runs that finished in the same millisecond. */
  finishSeq: number
  /** Message of the latest failed attempt; null once completed or retried by an admin. */
  error: string | null
  /** While delayed: when the run moves to waiting. */
  dueAt: number
}

/** One defined job and its runs by state. */
export interface Slot {
  readonly job: ResolvedJob
  /** Oldest first: the next run to start is at the front. */
  readonly waiting: Run[]
  /** In start order. */
  readonly active: Run[]
  /** Runs waiting on a delay, a retry backoff or their cron tick. */
  readonly delayed: Set<Run>
  /** Finished runs in finish order, trimmed as BullMQ trims its own (KEEP_COMPLETED, KEEP_FAILED). */
  readonly completed: Run[]
  readonly failed: Run[]
  /** jobId → run id, from enqueue until the run succeeds or fails for good. */
  readonly queuedIds: Map<string, string>
  /** The pending cron tick; undefined without cron or before start. */
  nextCronAt: number | undefined
}

export function newSlot(job: ResolvedJob): Slot {
  return {
    job,
    waiting: [],
    active: [],
    delayed: new Set(),
    completed: [],
    failed: [],
    queuedIds: new Map(),
    nextCronAt: undefined,
  }
}

export function newRun(data: unknown, jobId: string | undefined, scheduled: boolean): Run {
  return {
    id: randomUUID(),
    data,
    jobId,
    scheduled,
    state: 'waiting',
    attemptsMade: 0,
    createdAt: Date.now(),
    startedAt: undefined,
    finishedAt: undefined,
    finishSeq: 0,
    error: null,
    dueAt: 0,
  }
}

/** Files a run that has just finished in its history, dropping what is past the count or age kept. */
export function keepFinished(slot: Slot, run: Run & { state: 'completed' | 'failed'; finishedAt: number }): void {
  if (run.state === 'completed') {
    run.data = undefined
    run.error = null
  }
  const [history, keep] = run.state === 'completed' ? [slot.completed, KEEP_COMPLETED] : [slot.failed, KEEP_FAILED]
  history.push(run)
  const oldest = run.finishedAt - keep.ageMs
  while (history.length > keep.count || (history[0]?.finishedAt ?? oldest) < oldest) history.shift()
}

export function overviewOf(slot: Slot): JobOverview {
  const { job } = slot
  const last = [slot.completed.at(-1), slot.failed.at(-1)].filter(run => run !== undefined).sort(byFinishDesc)[0]
  return {
    name: job.name,
    cron: job.cron ?? null,
    timezone: job.cron === undefined ? null : job.timezone,
    counts: {
      waiting: slot.waiting.length,
      active: slot.active.length,
      delayed: slot.delayed.size,
      completed: slot.completed.length,
      failed: slot.failed.length,
    },
    last_run: last ? viewOf(job.name, last) : null,
    next_run_at: isoOrNull(slot.nextCronAt),
  }
}

/** The runs `runs()` lists, in BullMQ's order: latest started, latest queued, latest due, then by finish time. */
export function newestFirst(slot: Slot, filter: JobRunsFilter): Run[] {
  if (filter === 'completed') return [...slot.completed].reverse()
  if (filter === 'failed') return [...slot.failed].reverse()
  return [
    ...[...slot.active].reverse(),
    ...[...slot.waiting].reverse(),
    ...[...slot.delayed].sort((a, b) => b.dueAt - a.dueAt),
    ...[...slot.completed, ...slot.failed].sort(byFinishDesc),
  ]
}

export function viewOf(name: string, run: Run): JobRunView {
  return {
    id: run.id,
    name,
    state: run.state,
    attempts: run.attemptsMade,
    created_at: new Date(run.createdAt).toISOString(),
    started_at: isoOrNull(run.startedAt),
    finished_at: isoOrNull(run.finishedAt),
    error: run.error,
  }
}

function byFinishDesc(a: Run, b: Run): number {
  return (b.finishedAt ?? 0) - (a.finishedAt ?? 0) || b.finishSeq - a.finishSeq
}
