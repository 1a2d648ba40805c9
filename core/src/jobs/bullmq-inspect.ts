import type { Job, Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import type { ResolvedJob } from './definition.js'
import {
  errorSummary,
  isoOrNull,
  type JobCounts,
  type JobOverview,
  type JobRunsPage,
  type JobRunsQuery,
  type JobRunState,
  type JobRunView,
} from './views.js'

/*
 * The admin view of the BullMQ driver, read from one job's queue with the same order and
 * shapes as the in-process runner's memory.
 */

/** Runs not finished yet, in the order `runs(…, { state: 'all' })` lists them. */
const PENDING = ['active', 'waiting', 'delayed'] as const

export async function overviewOf(job: ResolvedJob, queue: Queue): Promise<JobOverview> {
  const [counts, completed, failed, scheduler] = await Promise.all([
    countsOf(queue),
    queue.getJobs(['completed'], 0, 0, false),
    queue.getJobs(['failed'], 0, 0, false),
    job.cron === undefined ? undefined : queue.getJobScheduler(job.name),
  ])
  const last = [
    ...completed.map(run => ({ run, state: 'completed' as const })),
    ...failed.map(run => ({ run, state: 'failed' as const })),
  ].sort((a, b) => (b.run.finishedOn ?? 0) - (a.run.finishedOn ?? 0))[0]
  return {
    name: job.name,
    cron: job.cron ?? null,
    timezone: job.cron === undefined ? null : job.timezone,
    counts,
    last_run: last ? viewOf(job.name, last.run, last.state) : null,
    next_run_at: isoOrNull(scheduler?.next),
  }
}

/**
 * One page of a job's runs. Pending runs come from BullMQ's lists in their own order; finished
 * runs of both sets are merged by finish time, their sorted sets' score, read from Redis as
 * ids only so a deep page does not load every job before it.
 */
export async function runsOf(name: string, queue: Queue, redis: Redis, query: JobRunsQuery): Promise<JobRunsPage> {
  const counts = await countsOf(queue)
  const start = (query.page - 1) * query.pageSize
  const end = start + query.pageSize
  if (query.state !== 'all') {
    const { state } = query
    const jobs = start < counts[state] ? await queue.getJobs([state], start, end - 1, false) : []
    return { items: jobs.map(job => viewOf(name, job, state)), total: counts[state] }
  }
  const slices: Array<Promise<JobRunView[]>> = []
  let offset = 0
  for (const state of PENDING) {
    const from = Math.max(start - offset, 0)
    const to = Math.min(end - offset, counts[state])
    if (from < to)
      slices.push(queue.getJobs([state], from, to - 1, false).then(jobs => jobs.map(job => viewOf(name, job, state))))
    offset += counts[state]
  }
  const from = Math.max(start - offset, 0)
  const to = end - offset
  if (to > 0 && from < counts.completed + counts.failed) slices.push(finished(name, queue, redis, from, to))
  const total = Object.values(counts).reduce((sum, count) => sum + count, 0)
  return { items: (await Promise.all(slices)).flat(), total }
}

async function finished(name: string, queue: Queue, redis: Redis, from: number, to: number): Promise<JobRunView[]> {
  const read = async (state: 'completed' | 'failed') => {
    const flat = await redis.zrevrange(queue.keys[state] ?? '', 0, to - 1, 'WITHSCORES')
    const entries: Array<{ id: string; at: number; state: typeof state }> = []
    for (let i = 0; i + 1 < flat.length; i += 2) entries.push({ id: flat[i] as string, at: Number(flat[i + 1]), state })
    return entries
  }
  const merged = (await Promise.all([read('completed'), read('failed')])).flat().sort((a, b) => b.at - a.at)
  const page = merged.slice(from, to)
  // A run trimmed between the two reads is left out rather than shown half.
  const jobs = await Promise.all(page.map(entry => queue.getJob(entry.id)))
  return page.flatMap((entry, index) => {
    const job = jobs[index]
    return job ? [viewOf(name, job, entry.state)] : []
  })
}

async function countsOf(queue: Queue): Promise<JobCounts> {
  const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed')
  return {
    waiting: counts.waiting ?? 0,
    active: counts.active ?? 0,
    delayed: counts.delayed ?? 0,
    completed: counts.completed ?? 0,
    failed: counts.failed ?? 0,
  }
}

/** `state` is where the job was read from; a job's own data is never copied into the view. */
function viewOf(name: string, job: Job, state: JobRunState): JobRunView {
  return {
    id: job.id ?? '',
    name,
    state,
    attempts: job.attemptsMade,
    created_at: new Date(job.timestamp).toISOString(),
    started_at: isoOrNull(job.processedOn),
    finished_at: isoOrNull(job.finishedOn),
    // BullMQ keeps the reason of an earlier failed attempt on a job that then completed.
    error: state === 'completed' ? null : errorSummary(job.failedReason),
  }
}
