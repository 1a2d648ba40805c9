import { Type } from '@sinclair/typebox'
import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/core'
import { errors } from '../errors.js'
import type { HttpScope } from '../http/server.js'
import { requireRole } from '../auth/authenticate.js'
import { canonicalRule, type Blocklist } from './blocklist.js'
import { BlockedAttempt, BlockedIp } from './entities.js'

const Page = Type.Object({
  page: Type.Integer({ minimum: 1, default: 1 }),
  page_size: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
})

/** `GET/POST /api/admin/blocked-ips`, `DELETE /api/admin/blocked-ips/:id`, `GET /api/admin/blocked-ips/attempts` (docs/blocked-ips.md). */
export function installBlocklistAdminRoutes(app: HttpScope, em: () => EntityManager, blocklist: Blocklist): void {
  const common = {
    onRequest: async (request: Parameters<typeof requireRole>[0]) => void (await requireRole(request, 'admin', 'root')),
  }
  const tags = ['admin: blocked IPs']
  const security = [{ bearer: [] }]

  app.get(
    '/api/admin/blocked-ips',
    { ...common, schema: { tags, security, summary: 'Blocked addresses and ranges', querystring: Page } },
    async request => {
      const { page, page_size } = request.query
      const [rows, total] = await em().findAndCount(
        BlockedIp,
        {},
        { orderBy: { id: 'desc' }, limit: page_size, offset: (page - 1) * page_size },
      )
      return { items: rows.map(toWire), total, page, page_size }
    },
  )

  app.post(
    '/api/admin/blocked-ips',
    {
      ...common,
      schema: {
        tags,
        security,
        summary: 'Block an address or a CIDR range (IPv4 or IPv6)',
        body: Type.Object(
          {
            ip_address: Type.String({ minLength: 1, maxLength: 64 }),
            reason: Type.Optional(Type.String({ maxLength: 255 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const admin = await requireRole(request, 'admin', 'root')
      const rule = canonicalRule(request.body.ip_address)
      if (rule === undefined) throw errors.PARLEY_ERR_BLOCKLIST_RULE_INVALID()
      const manager = em()
      const row = manager.create(BlockedIp, { rule, reason: request.body.reason?.trim() ?? '', createdBy: admin.name })
      try {
        await manager.flush()
      } catch (error) {
        if (error instanceof UniqueConstraintViolationException) throw errors.PARLEY_ERR_BLOCKLIST_RULE_EXISTS({ rule })
        throw error
      }
      await blocklist.changed()
      request.log.info({ rule, blocked_ip_id: row.id }, 'address blocked')
      return reply.code(201).send(toWire(row))
    },
  )

  app.delete(
    '/api/admin/blocked-ips/:id',
    {
      ...common,
      schema: {
        tags,
        security,
        summary: 'Unblock',
        params: Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) }),
      },
    },
    async (request, reply) => {
      const removed = await em().nativeDelete(BlockedIp, { id: request.params.id })
      if (removed === 0) throw errors.PARLEY_ERR_BLOCKLIST_NOT_FOUND({ id: request.params.id })
      await blocklist.changed()
      request.log.info({ blocked_ip_id: request.params.id }, 'address unblocked')
      return reply.code(204).send()
    },
  )

  app.get(
    '/api/admin/blocked-ips/attempts',
    {
      ...common,
      schema: {
        tags,
        security,
        summary: 'Requests the blocklist refused, newest first',
        querystring: Type.Composite([
          Page,
          Type.Object({ ip: Type.Optional(Type.String({ minLength: 1, maxLength: 45 })) }),
        ]),
      },
    },
    async request => {
      const { page, page_size, ip } = request.query
      // Rows written in the last second are still in the buffer; a list read right after a refusal should show them.
      await blocklist.attempts.flush().catch(() => undefined)
      const [rows, total] = await em().findAndCount(BlockedAttempt, ip === undefined ? {} : { ip }, {
        orderBy: { id: 'desc' },
        limit: page_size,
        offset: (page - 1) * page_size,
      })
      return {
        items: rows.map(row => ({
          id: row.id,
          ip_address: row.ip,
          method: row.method,
          path: row.path,
          rule: row.rule,
          created_at: row.createdAt.toISOString(),
        })),
        total,
        page,
        page_size,
      }
    },
  )
}

function toWire(row: { id: number; rule: string; reason: string; createdBy: string; createdAt: Date }) {
  return {
    id: row.id,
    ip_address: row.rule,
    reason: row.reason,
    created_by: row.createdBy,
    created_at: row.createdAt.toISOString(),
  }
}
