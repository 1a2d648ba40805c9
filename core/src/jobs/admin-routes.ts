import { Type } from '@sinclair/typebox'
import type { FastifyRequest } from 'fastify'
import type { HttpScope } from '../http/server.js'
import { requireRole } from '../auth/authenticate.js'
import type { JobQueue } from './port.js'
import { JobOverviewSchema, JobRunViewSchema } from './views.js'

const MAX_PAGE_SIZE = 100
const DEFAULT_PAGE_SIZE = 20

const strict = { additionalProperties: false } as const
/** Looser than a definition's name check: any other name is a 404 from the queue, not a 400. */
const NameParams = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 200, pattern: '^[a-z0-9][a-z0-9.-]*$' }) },
  strict,
)
/** UUIDs, and `repeat:<job>:<ms>` for runs of a BullMQ cron schedule. */
const IdParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 300, pattern: '^[A-Za-z0-9][A-Za-z0-9:._-]*$' }) },
  strict,
)
const RunsQuery = Type.Object(
  {
    state: Type.Union([Type.Literal('all'), Type.Literal('completed'), Type.Literal('failed')], {
      default: 'all',
      description: '`all` also lists runs that have not finished',
    }),
    page: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 }),
    page_size: Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE }),
  },
  strict,
)
const Paged = <T extends Parameters<typeof Type.Array>[0]>(item: T) =>
  Type.Object({ items: Type.Array(item), total: Type.Integer(), page: Type.Integer(), page_size: Type.Integer() })

/**
 * `GET /api/admin/jobs`, `GET /api/admin/jobs/:name/runs` and `POST /api/admin/jobs/runs/:id/retry`
 * (queues, last runs, failures, retry: docs/plugins.md). The views never carry job
 * data, which may hold private values; failures show their message only.
 */
export function installJobsAdminRoutes(app: HttpScope, jobs: JobQueue): void {
  const common = { onRequest: async (request: FastifyRequest) => void (await requireRole(request, 'admin', 'root')) }
  const tags = ['admin: jobs']
  const security = [{ bearer: [] }]

  app.get(
    '/api/admin/jobs',
    {
      ...common,
      schema: {
        tags,
        security,
        summary: 'Every background job: counts per state, the last finished run, the next cron tick',
        response: {
          200: Type.Composite([
            Type.Object({ driver: Type.Union([Type.Literal('in-process'), Type.Literal('bullmq')]) }),
            Paged(JobOverviewSchema),
          ]),
        },
      },
    },
    async () => {
      const items = await jobs.overview()
      return { driver: jobs.kind, items, total: items.length, page: 1, page_size: items.length }
    },
  )

  app.get(
    '/api/admin/jobs/:name/runs',
    {
      ...common,
      schema: {
        tags,
        security,
        summary: 'Runs of one job, newest first (pending runs lead with state=all)',
        params: NameParams,
        querystring: RunsQuery,
        response: { 200: Paged(JobRunViewSchema) },
      },
    },
    async request => {
      const { state, page, page_size } = request.query
      const { items, total } = await jobs.runs(request.params.name, { state, page, pageSize: page_size })
      return { items, total, page, page_size }
    },
  )

  app.post(
    '/api/admin/jobs/runs/:id/retry',
    {
      ...common,
      schema: {
        tags,
        security,
        summary: 'Queue a failed run again (one more attempt, same data)',
        params: IdParams,
        response: { 202: Type.Object({ id: Type.String() }) },
      },
    },
    async (request, reply) => {
      const admin = await requireRole(request, 'admin', 'root')
      await jobs.retry(request.params.id)
      request.log.info({ job_run_id: request.params.id, user_id: admin.userId }, 'job run retried by an admin')
      return reply.code(202).send({ id: request.params.id })
    },
  )
}
