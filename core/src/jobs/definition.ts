import { CronExpressionParser } from 'cron-parser'
import { errors } from '../errors.js'
import type { Logger } from '../logger.js'
import type { EnqueueOptions, JobDefinition, JobRun } from './port.js'

/*
 * What both job drivers share: checking a definition once at define() time, cron arithmetic
 * and failure logging.
 */

export const DEFAULT_ATTEMPTS = 3
export const DEFAULT_BACKOFF_MS = 1000
export const DEFAULT_CONCURRENCY = 1
export const DEFAULT_TIMEZONE = 'UTC'
/** `<plugin-id>.<job>`: kebab-case segments joined by dots, at least two segments. */
const JOB_NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*(?:\.[a-z0-9]+(?:-[a-z0-9]+)*)+$/

/** A definition with its defaults applied; both drivers work from this. */
export interface ResolvedJob {
  readonly name: string
  readonly handler: (run: JobRun<unknown>) => Promise<void>
  readonly cron: string | undefined
  readonly timezone: string
  readonly attempts: number
  readonly backoffMs: number
  readonly concurrency: number
}

/** Checks a definition once, at define() time, so a typo fails the plugin's setup, not a 3 a.m. tick. */
export function resolveJob(definition: JobDefinition<unknown>): ResolvedJob {
  const { name } = definition
  const invalid = (reason: string) => errors.PARLEY_ERR_JOB_INVALID({ name, reason })
  if (typeof name !== 'string' || !JOB_NAME.test(name)) {
    throw invalid('names are "<plugin-id>.<job>" in kebab-case, e.g. "tickets.expire-old"')
  }
  if (typeof definition.handler !== 'function') throw invalid('handler must be a function')
  const attempts = definition.attempts ?? DEFAULT_ATTEMPTS
  if (!Number.isInteger(attempts) || attempts < 1) throw invalid('attempts must be an integer >= 1')
  const backoffMs = definition.backoffMs ?? DEFAULT_BACKOFF_MS
  if (!Number.isFinite(backoffMs) || backoffMs < 0) throw invalid('backoffMs must be a number >= 0')
  const concurrency = definition.concurrency ?? DEFAULT_CONCURRENCY
  if (!Number.isInteger(concurrency) || concurrency < 1) throw invalid('concurrency must be an integer >= 1')
  const timezone = definition.timezone ?? DEFAULT_TIMEZONE
  if (definition.timezone !== undefined && definition.cron === undefined)
    throw invalid('timezone only applies to cron jobs')
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone })
  } catch {
    throw invalid(`unknown time zone "${timezone}"`)
  }
  if (definition.cron !== undefined) checkCron(definition.cron, timezone, invalid)
  return {
    name,
    handler: run => definition.handler(run),
    cron: definition.cron,
    timezone,
    attempts,
    backoffMs,
    concurrency,
  }
}

function checkCron(cron: string, timezone: string, invalid: (reason: string) => Error): void {
  // cron-parser quietly accepts 4 fields or an empty string; the port promises 5 or 6.
  const fields = cron.trim().split(/\s+/).length
  if (!cron.trim().startsWith('@') && fields !== 5 && fields !== 6) {
    throw invalid(`cron "${cron}" needs 5 fields, or 6 with seconds`)
  }
  try {
    CronExpressionParser.parse(cron, { tz: timezone }).next()
  } catch (error) {
    throw invalid(`cron "${cron}" is invalid: ${messageOf(error)}`)
  }
}

export function checkEnqueueOptions(name: string, options: EnqueueOptions): void {
  const { delayMs } = options
  if (delayMs !== undefined && !(Number.isFinite(delayMs) && delayMs >= 0)) {
    throw errors.PARLEY_ERR_JOB_INVALID({ name, reason: 'delayMs must be a number >= 0' })
  }
}

/** The first cron occurrence strictly after `after` (epoch ms). */
export function nextCronTime(job: ResolvedJob & { cron: string }, after: number): number {
  return CronExpressionParser.parse(job.cron, { currentDate: new Date(after), tz: job.timezone })
    .next()
    .getTime()
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** Logs a failed attempt with ids, counts and the error message only: job data may hold secrets. */
export function logFailure(
  log: Logger,
  run: JobRun<unknown>,
  attempts: number,
  error: unknown,
  retrying: boolean,
): void {
  const fields = { job: run.name, jobId: run.id, attempt: run.attempt, attempts, error: messageOf(error) }
  if (retrying) log.warn(fields, 'job attempt failed; it will be retried')
  else if (run.attempt >= attempts) log.error(fields, 'job failed after its last attempt')
  else log.error(fields, 'job attempt failed while the queue closes; it is not retried')
}
