import { Type, type Static } from '@sinclair/typebox'

/*
 * What the admin view of jobs shows, shared by both drivers: the wire shapes (TypeBox, so the
 * same object types the code and documents the routes) and the history both drivers keep.
 */

/** Finished runs kept per job name for the admin view; both drivers trim by count and age. */
export const KEEP_COMPLETED = { count: 1000, ageMs: 7 * 24 * 3600_000 } as const
export const KEEP_FAILED = { count: 5000, ageMs: 30 * 24 * 3600_000 } as const
/** A failure message is cut here: enough to recognise the error, never a stack trace. */
export const ERROR_MAX_CHARS = 500

export const JobRunStateSchema = Type.Union([
  Type.Literal('waiting'),
  Type.Literal('active'),
  Type.Literal('delayed'),
  Type.Literal('completed'),
  Type.Literal('failed'),
])
export type JobRunState = Static<typeof JobRunStateSchema>

const Instant = Type.String({ format: 'date-time' })

/** One run of a job (all its attempts). Never its data: job data may hold private values. */
export const JobRunViewSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  state: JobRunStateSchema,
  attempts: Type.Integer({ minimum: 0, description: 'attempts made so far' }),
  created_at: Instant,
  started_at: Type.Union([Instant, Type.Null()], { description: 'start of the latest attempt' }),
  finished_at: Type.Union([Instant, Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()], {
    description: `message of the latest failed attempt, at most ${ERROR_MAX_CHARS} characters; null once completed`,
  }),
})
export type JobRunView = Static<typeof JobRunViewSchema>

export const JobCountsSchema = Type.Object({
  waiting: Type.Integer({ minimum: 0 }),
  active: Type.Integer({ minimum: 0 }),
  delayed: Type.Integer({ minimum: 0 }),
  completed: Type.Integer({ minimum: 0 }),
  failed: Type.Integer({ minimum: 0 }),
})
export type JobCounts = Static<typeof JobCountsSchema>

export const JobOverviewSchema = Type.Object({
  name: Type.String(),
  cron: Type.Union([Type.String(), Type.Null()]),
  timezone: Type.Union([Type.String(), Type.Null()]),
  counts: JobCountsSchema,
  last_run: Type.Union([JobRunViewSchema, Type.Null()], { description: 'the run that finished last' }),
  next_run_at: Type.Union([Instant, Type.Null()], { description: 'next tick of the cron schedule' }),
})
export type JobOverview = Static<typeof JobOverviewSchema>

export type JobRunsFilter = 'completed' | 'failed' | 'all'

export interface JobRunsQuery {
  /** `all` also lists runs not finished yet. */
  readonly state: JobRunsFilter
  /** 1-based. */
  readonly page: number
  readonly pageSize: number
}

export interface JobRunsPage {
  readonly items: JobRunView[]
  readonly total: number
}

/** A failure as the view shows it: the error's message (never its stack), cut to ERROR_MAX_CHARS. */
export function errorSummary(message: string | null | undefined): string | null {
  if (!message) return null
  return message.length > ERROR_MAX_CHARS ? `${message.slice(0, ERROR_MAX_CHARS - 1)}…` : message
}

export function isoOrNull(time: number | null | undefined): string | null {
  return time ? new Date(time).toISOString() : null
}
