import { Readable } from 'node:stream'
import type { EntityManager } from '@mikro-orm/core'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyRequest } from 'fastify'
import { Channel } from '../catalog/entities.js'
import { errors } from '../errors.js'
import type { HttpScope } from '../http/server.js'
import { requireRole } from '../auth/authenticate.js'
import type { SettingsRegistry } from '../settings/registry.js'
import { formatDate, ZonedCalendar } from './calendar.js'
import { csvLine, UTF8_BOM } from './csv.js'
import { exportLogs, listLogs, LOG_COLUMNS, type LogFilter } from './logs.js'
import { computeStats } from './stats.js'

const MAX_PAGE_SIZE = 200
const DEFAULT_PAGE_SIZE = 50
/** ISO 8601 with a zone (`Z` or `±hh:mm`): a time without one would mean the server's zone. */
const INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/i
const DIGITS = /^\d{1,10}$/

const Filters = {
  from: Type.Optional(Type.String({ maxLength: 40, description: 'ISO 8601 time with a zone, inclusive' })),
  to: Type.Optional(Type.String({ maxLength: 40, description: 'ISO 8601 time with a zone, exclusive' })),
  user: Type.Optional(
    Type.String({ minLength: 1, maxLength: 64, description: 'user id, or the username at call time' }),
  ),
  ip: Type.Optional(Type.String({ minLength: 1, maxLength: 45 })),
  model: Type.Optional(Type.String({ minLength: 1, maxLength: 191 })),
  channel: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'channel id or name' })),
  status: Type.Optional(Type.Union([Type.Literal('success'), Type.Literal('error'), Type.Literal('aborted')])),
  endpoint: Type.Optional(
    Type.Union([Type.Literal('chat.completions'), Type.Literal('responses'), Type.Literal('portal')]),
  ),
}
const strict = { additionalProperties: false } as const
const ExportQuery = Type.Object(Filters, strict)
const ListQuery = Type.Object(
  {
    ...Filters,
    page: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 }),
    page_size: Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE }),
  },
  strict,
)

export interface UsageAdmin {
  readonly em: () => EntityManager
  readonly settings: SettingsRegistry
}

/** `GET /api/admin/logs`, `/api/admin/logs/export` and `/api/admin/stats` (shapes in docs/usage.md). */
export function installUsageAdminRoutes(app: HttpScope, usage: UsageAdmin): void {
  const common = { onRequest: async (request: FastifyRequest) => void (await requireRole(request, 'admin', 'root')) }
  const tags = ['admin: usage']
  const security = [{ bearer: [] }]
  const timeZone = () => usage.settings.get('time_zone')

  app.get(
    '/api/admin/logs',
    { ...common, schema: { tags, security, summary: 'Usage log rows, newest first', querystring: ListQuery } },
    async request => {
      const { page, page_size } = request.query
      const { items, total } = await listLogs(usage.em(), await toFilter(usage.em(), request.query), page, page_size)
      return { items, total, page, page_size }
    },
  )

  app.get(
    '/api/admin/logs/export',
    {
      ...common,
      schema: {
        tags,
        security,
        summary: 'Usage log rows of the same filters as CSV, streamed',
        querystring: ExportQuery,
      },
    },
    async (request, reply) => {
      const filter = await toFilter(usage.em(), request.query)
      const today = formatDate(new ZonedCalendar(timeZone()).dateOf(Date.now()))
      request.log.info({ filter: request.query }, 'usage log export started')
      // A byte stream pulled by the socket: the next batch is read only once the last one has
      // drained to the client, so memory stays flat whatever the row count.
      const body = Readable.from(csvChunks(usage.em, filter), { objectMode: false })
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="usage-logs-${today}.csv"`)
        .header('cache-control', 'no-store')
        .send(body)
    },
  )

  app.get(
    '/api/admin/stats',
    {
      ...common,
      schema: {
        tags,
        security,
        summary: 'Calls, models, daily calls, tokens and active users, in the time_zone setting',
      },
    },
    async () => computeStats(usage.em(), { now: new Date(), timeZone: timeZone() }),
  )
}

async function* csvChunks(em: () => EntityManager, filter: LogFilter): AsyncGenerator<Buffer> {
  yield Buffer.from(UTF8_BOM + csvLine(LOG_COLUMNS), 'utf8')
  for await (const rows of exportLogs(em, filter)) {
    yield Buffer.from(rows.map(row => csvLine(LOG_COLUMNS.map(column => row[column]))).join(''), 'utf8')
  }
}

async function toFilter(em: EntityManager, query: Static<typeof ExportQuery>): Promise<LogFilter> {
  const filter: { -readonly [K in keyof LogFilter]: LogFilter[K] } = {
    from: instant('from', query.from),
    to: instant('to', query.to),
    ip: query.ip,
    model: query.model,
    status: query.status,
    endpoint: query.endpoint,
  }
  if (filter.from && filter.to && filter.from >= filter.to)
    throw errors.PARLEY_ERR_HTTP_VALIDATION({ reason: 'querystring/from must be before querystring/to' })
  if (query.user !== undefined) {
    // An id when it is all digits; otherwise the name the row was logged with.
    if (DIGITS.test(query.user)) filter.userId = Number(query.user)
    else filter.username = query.user
  }
  if (query.channel !== undefined) {
    if (DIGITS.test(query.channel)) filter.channelId = Number(query.channel)
    else {
      // Today's name finds the channel's whole history by id; a deleted channel's by its logged name.
      const channel = await em.findOne(Channel, { name: query.channel }, { fields: ['id'] })
      if (channel) filter.channelId = channel.id
      else filter.channelName = query.channel
    }
  }
  return filter
}

function instant(name: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined
  const [, year, month, day] = INSTANT.exec(value) ?? []
  // Date.parse rolls 30 February over to March; a date that does not exist is refused instead.
  const exists =
    day !== undefined &&
    new Date(Date.UTC(Number(year), Number(month) - 1, Number(day))).getUTCDate() === Number(day) &&
    Number(month) <= 12
  const time = exists ? Date.parse(value) : Number.NaN
  if (Number.isNaN(time))
    throw errors.PARLEY_ERR_HTTP_VALIDATION({
      reason: `querystring/${name} must be an ISO 8601 time with a zone, e.g. 2025-03-01T00:00:00+08:00`,
    })
  return new Date(time)
}
