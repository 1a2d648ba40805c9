import { Type, type CatalogCache, type EntityManager, type HttpScope, type SecretBox } from '@parley/core'
import { normalizeOrigin, normalizeRange } from './addresses.js'
import {
  adminOnly,
  ClientSchema,
  CreateBody,
  CreatedSchema,
  IdParams,
  PageQuery,
  RotateBody,
  security,
  UpdateBody,
} from './admin-schemas.js'
import { listOf, newClientId, newSecret, secretContext, type WidgetClientRow, type WidgetClients } from './clients.js'
import { WidgetClient } from './entities.js'
import { widgetErrors } from './errors.js'

export interface AdminDeps {
  readonly em: () => EntityManager
  readonly box: SecretBox
  readonly clients: WidgetClients
  readonly catalog: CatalogCache
  /** Default overlap of a rotation, in seconds. */
  readonly overlapSeconds: number
}

/** `/api/admin/widget-clients`: create (the secret shown once), list, change, rotate the secret, delete. */
export function installAdminRoutes(http: HttpScope, deps: AdminDeps): void {
  const base = '/api/admin/widget-clients'
  const tags = ['admin', 'widget']

  http.get(
    base,
    { onRequest: adminOnly, schema: { tags, security, summary: 'Widget clients', querystring: PageQuery } },
    async request => {
      const { page, page_size } = request.query
      const [rows, total] = await deps
        .em()
        .findAndCount(WidgetClient, {}, { orderBy: { id: 'asc' }, limit: page_size, offset: (page - 1) * page_size })
      return { items: rows.map(toWire), total, page, page_size }
    },
  )

  http.get(
    `${base}/:id`,
    { onRequest: adminOnly, schema: { tags, security, summary: 'One widget client', params: IdParams } },
    async request => toWire(await find(deps.em(), request.params.id)),
  )

  http.post(
    base,
    {
      onRequest: adminOnly,
      schema: {
        tags,
        security,
        summary: 'Register a widget client',
        body: CreateBody,
        response: { 201: CreatedSchema },
      },
    },
    async (request, reply) => {
      const body = request.body
      checkModel(deps.catalog, body.model)
      const clientId = newClientId()
      const secret = newSecret()
      const em = deps.em()
      const row = em.create(WidgetClient, {
        clientId,
        name: body.name,
        secretSealed: deps.box.seal(secret, secretContext(clientId)),
        previousSecretSealed: null,
        previousSecretUntil: null,
        allowedIps: JSON.stringify(unique(body.allowed_ips.map(normalizeRange))),
        allowedOrigins: JSON.stringify(unique(body.allowed_origins.map(normalizeOrigin))),
        model: body.model,
        greeting: body.greeting ?? '',
        themeColor: (body.theme_color ?? '#2563eb').toLowerCase(),
        rpm: body.rpm ?? 0,
        transcripts: body.transcripts ?? false,
        enabled: body.enabled ?? true,
      })
      await em.flush()
      request.log.info({ widget_client: clientId }, 'widget client created')
      return reply.code(201).send({ ...toWire(row), secret })
    },
  )

  http.put(
    `${base}/:id`,
    {
      onRequest: adminOnly,
      schema: {
        tags,
        security,
        summary: 'Change a widget client',
        params: IdParams,
        body: UpdateBody,
        response: { 200: ClientSchema },
      },
    },
    async request => {
      const body = request.body
      const em = deps.em()
      const row = await find(em, request.params.id)
      if (body.model !== undefined && body.model !== row.model) checkModel(deps.catalog, body.model)
      const ips = body.allowed_ips && JSON.stringify(unique(body.allowed_ips.map(normalizeRange)))
      const origins = body.allowed_origins && JSON.stringify(unique(body.allowed_origins.map(normalizeOrigin)))
      if (body.name !== undefined) row.name = body.name
      if (ips !== undefined) row.allowedIps = ips
      if (origins !== undefined) row.allowedOrigins = origins
      if (body.model !== undefined) row.model = body.model
      if (body.rpm !== undefined) row.rpm = body.rpm
      if (body.transcripts !== undefined) row.transcripts = body.transcripts
      if (body.enabled !== undefined) row.enabled = body.enabled
      if (body.greeting !== undefined) row.greeting = body.greeting
      if (body.theme_color !== undefined) row.themeColor = body.theme_color.toLowerCase()
      await em.flush()
      await deps.clients.changed(row.clientId)
      return toWire(row)
    },
  )

  http.post(
    `${base}/:id/rotate-secret`,
    {
      onRequest: adminOnly,
      schema: {
        tags,
        security,
        summary: 'A new secret; the old one verifies for overlap_seconds more',
        params: IdParams,
        body: Type.Optional(RotateBody),
        response: {
          200: Type.Object({
            secret: Type.String(),
            previous_secret_expires_at: Type.Union([Type.String(), Type.Null()]),
          }),
        },
      },
    },
    async request => {
      const em = deps.em()
      const row = await find(em, request.params.id)
      const overlap = request.body?.overlap_seconds ?? deps.overlapSeconds
      const secret = newSecret()
      const context = secretContext(row.clientId)
      row.previousSecretSealed = overlap > 0 ? row.secretSealed : null
      row.previousSecretUntil = overlap > 0 ? new Date(Date.now() + overlap * 1000) : null
      row.secretSealed = deps.box.seal(secret, context)
      await em.flush()
      await deps.clients.changed(row.clientId)
      request.log.info({ widget_client: row.clientId, overlap_seconds: overlap }, 'widget client secret rotated')
      return { secret, previous_secret_expires_at: row.previousSecretUntil?.toISOString() ?? null }
    },
  )

  http.delete(
    `${base}/:id`,
    { onRequest: adminOnly, schema: { tags, security, summary: 'Delete a widget client', params: IdParams } },
    async (request, reply) => {
      const em = deps.em()
      const row = await find(em, request.params.id)
      await em.removeAndFlush(row)
      await deps.clients.changed(row.clientId)
      request.log.info({ widget_client: row.clientId }, 'widget client deleted')
      return reply.code(204).send()
    },
  )
}

async function find(em: EntityManager, id: number): Promise<WidgetClientRow> {
  const row = await em.findOne(WidgetClient, { id })
  if (!row) throw widgetErrors.PARLEY_ERR_WIDGET_CLIENT_NOT_FOUND({ id })
  return row
}

function checkModel(catalog: CatalogCache, model: string): void {
  if (!catalog.current().models.has(model)) throw widgetErrors.PARLEY_ERR_WIDGET_MODEL_UNKNOWN({ model })
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)]
}

export function toWire(row: WidgetClientRow) {
  const until =
    row.previousSecretUntil && row.previousSecretUntil.getTime() > Date.now() ? row.previousSecretUntil : null
  return {
    id: row.id,
    client_id: row.clientId,
    name: row.name,
    allowed_ips: listOf(row.allowedIps),
    allowed_origins: listOf(row.allowedOrigins),
    model: row.model,
    rpm: row.rpm,
    transcripts: row.transcripts,
    enabled: row.enabled,
    greeting: row.greeting,
    theme_color: row.themeColor,
    previous_secret_expires_at: until?.toISOString() ?? null,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  }
}
