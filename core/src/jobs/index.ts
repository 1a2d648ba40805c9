import type { Logger } from '../logger.js'
import { InProcessJobQueue } from './in-process.js'
import type { JobQueue } from './port.js'

export type { EnqueueOptions, JobDefinition, JobQueue, JobRun } from './port.js'
export type { JobCounts, JobOverview, JobRunsPage, JobRunsQuery, JobRunState, JobRunView } from './views.js'
export { installJobsAdminRoutes } from './admin-routes.js'
export type { BullMqJobQueueOptions } from './bullmq.js'
export { InProcessJobQueue } from './in-process.js'

/**
 * BullMQ when a Redis URL is configured (several instances), the in-process runner otherwise.
 * BullMQ (and ioredis) is imported only then: a single instance never loads it.
 */
export async function createJobQueue(options: {
  redisUrl?: string
  prefix?: string
  logger: Logger
}): Promise<JobQueue> {
  if (!options.redisUrl) return new InProcessJobQueue({ logger: options.logger })
  const { BullMqJobQueue } = await import('./bullmq.js')
  return new BullMqJobQueue({ url: options.redisUrl, prefix: options.prefix, logger: options.logger })
}
