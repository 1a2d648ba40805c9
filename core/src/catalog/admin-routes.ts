import { Type, type Static } from '@sinclair/typebox'
import type { FastifyRequest } from 'fastify'
import type { EntityManager } from '@mikro-orm/core'
import { errors } from '../errors.js'
import type { HttpScope } from '../http/server.js'
import { requireRole } from '../auth/authenticate.js'
import type { ChannelInput, ChannelStore } from './channels.js'
import type { ChatRouteStore, ModelStore } from './models.js'
import { checkBaseUrl, type AddressPolicy } from '../upstream/upstream-address.js'
import type { ChannelTestView, ChannelTimeouts } from './views.js'
import { probeChannelOf, type ChannelTester } from './channel-test.js'
import type { KeyAutoDisable } from './key-disable.js'
import { installUpstreamModelsRoute } from './upstream-models.js'

const strict = { additionalProperties: false } as const
const Name = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' })
const ModelName = Type.String({ minLength: 1, maxLength: 191, pattern: '^\\S+$' })
const GroupName = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' })
const KeyText = Type.String({ minLength: 1, maxLength: 4096, pattern: '\\S' })
const Timeout = (minimum: number, maximum: number) =>
  Type.Optional(Type.Union([Type.Integer({ minimum, maximum }), Type.Null()]))

const ChannelFields = {
  name: Name,
  provider: Type.String({ minLength: 1, maxLength: 32 }),
  base_url: Type.String({ minLength: 1, maxLength: 500 }),
  keys: Type.Array(
    Type.Union([
      KeyText,
      Type.Object({ id: Type.Integer({ minimum: 1 }), enabled: Type.Optional(Type.Boolean()) }, strict),
    ]),
    { maxItems: 100 },
  ),
  models: Type.Array(
    Type.Union([ModelName, Type.Object({ model: ModelName, upstream_model: Type.Optional(ModelName) }, strict)]),
    { maxItems: 500 },
  ),
  rpm_limit: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
  groups: Type.Array(GroupName, { maxItems: 100 }),
  priority: Type.Integer({ minimum: -1000, maximum: 1000 }),
  weight: Type.Integer({ minimum: 1, maximum: 1000 }),
  enabled: Type.Boolean(),
  settings: Type.Record(Type.String(), Type.Unknown()),
  image_delivery: Type.Union([Type.Literal('auto'), Type.Literal('url'), Type.Literal('inline')], {
    description: 'How stored images reach the upstream: a presigned URL, inline as a data: URL, or auto',
  }),
  timeouts: Type.Object(
    {
      connect_ms: Timeout(100, 600_000),
      first_byte_ms: Timeout(100, 3_600_000),
      idle_ms: Timeout(100, 3_600_000),
    },
    { ...strict, description: "This channel's upstream timeouts in ms; null or absent: the gateway's" },
  ),
}
const CreateChannel = Type.Object(
  {
    name: ChannelFields.name,
    provider: ChannelFields.provider,
    base_url: ChannelFields.base_url,
    keys: Type.Optional(ChannelFields.keys),
    models: Type.Optional(ChannelFields.models),
    rpm_limit: Type.Optional(ChannelFields.rpm_limit),
    groups: Type.Optional(ChannelFields.groups),
    priority: Type.Optional(ChannelFields.priority),
    weight: Type.Optional(ChannelFields.weight),
    enabled: Type.Optional(ChannelFields.enabled),
    settings: Type.Optional(ChannelFields.settings),
    image_delivery: Type.Optional(ChannelFields.image_delivery),
    timeouts: Type.Optional(ChannelFields.timeouts),
  },
  strict,
)
const UpdateChannel = Type.Partial(Type.Object(ChannelFields), strict)
const IdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) })
const Page = Type.Object(
  {
    page: Type.Integer({ minimum: 1, default: 1 }),
    page_size: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  },
  strict,
)
const ModelFields = {
  display_name: Type.Optional(Type.String({ maxLength: 191 })),
  reasoning: Type.Optional(Type.Boolean()),
  vision: Type.Optional(Type.Boolean()),
  enabled: Type.Optional(Type.Boolean()),
}

export interface CatalogAdmin {
  readonly em: () => EntityManager
  readonly channels: ChannelStore
  readonly models: ModelStore
  readonly routes: ChatRouteStore
  /** The SSRF policy base URLs are checked against when saved. */
  readonly addressPolicy: () => AddressPolicy
  /** Runs the channel test's round trips. */
  readonly tester: ChannelTester
  /** Tells every instance to reload its catalog snapshot. */
  readonly changed: () => Promise<void>
  /** Keys disabled after repeated auth refusals; a passing test enables them again. */
  readonly keys: KeyAutoDisable
}

/** Channels, models and chat routes for root and admin (paths in docs/catalog.md). */
export function installCatalogAdminRoutes(app: HttpScope, catalog: CatalogAdmin): void {
  const admin = async (request: FastifyRequest) => {
    await requireRole(request, 'admin', 'root')
  }
  const common = { onRequest: admin }
  const tags = ['admin: catalog']
  const security = [{ bearer: [] }]
  const baseUrl = async (raw: string) => (await checkBaseUrl(raw, catalog.addressPolicy())).toString()

  app.get(
    '/api/admin/providers',
    {
      ...common,
      schema: {
        tags,
        security,
        summary: "Installed providers with their channel settings' JSON schema (for generated forms)",
      },
    },
    async () => {
      const items = catalog.channels.providerList()
      return { items, total: items.length, page: 1, page_size: items.length }
    },
  )

  app.get(
    '/api/admin/channels',
    { ...common, schema: { tags, security, summary: 'Channels, paged', querystring: Page } },
    async request => {
      const { page, page_size } = request.query
      const { items, total } = await catalog.channels.list(catalog.em(), page, page_size)
      return { items, total, page, page_size }
    },
  )

  app.post(
    '/api/admin/channels',
    { ...common, schema: { tags, security, summary: 'Create a channel', body: CreateChannel } },
    async (request, reply) => {
      const body = request.body
      const input: ChannelInput = {
        name: body.name.trim(),
        provider: body.provider,
        base_url: await baseUrl(body.base_url),
        keys: body.keys ?? [],
        models: body.models ?? [],
        rpm_limit: body.rpm_limit ?? 0,
        groups: body.groups ?? ['default'],
        priority: body.priority ?? 0,
        weight: body.weight ?? 1,
        enabled: body.enabled ?? true,
        settings: body.settings ?? {},
        image_delivery: body.image_delivery ?? 'auto',
        timeouts: timeoutsOf(body.timeouts),
      }
      if (input.keys.some(key => typeof key !== 'string'))
        throw errors.PARLEY_ERR_HTTP_VALIDATION({ reason: 'body/keys: a new channel takes keys as strings' })
      const channel = await catalog.channels.create(catalog.em(), input)
      await catalog.changed()
      request.log.info({ channel_id: channel.id, provider: channel.provider }, 'channel created')
      return reply.code(201).send(channel)
    },
  )

  app.get(
    '/api/admin/channels/:id',
    { ...common, schema: { tags, security, summary: 'One channel', params: IdParams } },
    async request => catalog.channels.get(catalog.em(), request.params.id),
  )

  app.put(
    '/api/admin/channels/:id',
    {
      ...common,
      schema: {
        tags,
        security,
        summary: 'Change a channel; keys not listed are removed',
        params: IdParams,
        body: UpdateChannel,
      },
    },
    async request => {
      const body: Partial<Static<typeof UpdateChannel>> = { ...request.body }
      if (body.base_url !== undefined) body.base_url = await baseUrl(body.base_url)
      if (body.name !== undefined) body.name = body.name.trim()
      const input = { ...body, ...(body.timeouts ? { timeouts: timeoutsOf(body.timeouts) } : {}) }
      const channel = await catalog.channels.update(catalog.em(), request.params.id, input as Partial<ChannelInput>)
      await catalog.changed()
      return channel
    },
  )

  app.delete(
    '/api/admin/channels/:id',
    { ...common, schema: { tags, security, summary: 'Delete a channel', params: IdParams } },
    async (request, reply) => {
      await catalog.channels.delete(catalog.em(), request.params.id)
      await catalog.changed()
      return reply.code(204).send()
    },
  )

  app.post(
    '/api/admin/channels/:id/test',
    {
      ...common,
      schema: {
        tags,
        security,
        summary:
          'A real round trip through each enabled key of a channel (disabled channels too, and keys the gateway disabled, which a pass enables again)',
        params: IdParams,
        body: Type.Optional(
          Type.Object({ model: Type.Optional(ModelName), key_id: Type.Optional(Type.Integer({ minimum: 1 })) }, strict),
        ),
      },
    },
    async request => {
      const { view, settings } = await catalog.channels.open(catalog.em(), request.params.id)
      const keys = await catalog.keys.testable(catalog.em(), catalog.channels, view.id)
      const wanted = request.body?.key_id
      const chosen = wanted === undefined ? keys : keys.filter(key => key.id === wanted)
      if (wanted !== undefined && chosen.length === 0) throw errors.PARLEY_ERR_CATALOG_KEY_NOT_FOUND({ id: wanted })
      const model = request.body?.model ?? view.models[0]?.model
      const upstreamModel = view.models.find(binding => binding.model === model)?.upstream_model ?? model
      if (upstreamModel === undefined) throw errors.PARLEY_ERR_CATALOG_TEST_NO_MODEL()
      const results = []
      for (const key of chosen.length > 0 ? chosen : [undefined]) {
        const result = await catalog.tester.probe(probeChannelOf(view, key, settings), upstreamModel, request.log)
        results.push({ key_id: key?.id ?? null, hint: view.keys.find(k => k.id === key?.id)?.hint ?? null, ...result })
      }
      request.log.info({ channel_id: view.id, ok: results.every(r => r.ok) }, 'channel tested')
      const passed = results.filter(r => r.ok && r.key_id !== null).map(r => r.key_id as number)
      await catalog.keys.reenable(view.id, passed)
      return { ok: results.every(r => r.ok), model, upstream_model: upstreamModel, results } satisfies ChannelTestView
    },
  )

  installUpstreamModelsRoute(app, catalog, { tags, security, onRequest: admin })

  app.get('/api/admin/models', { ...common, schema: { tags, security, summary: 'The model catalog' } }, async () => {
    const items = await catalog.models.list(catalog.em())
    return { items, total: items.length, page: 1, page_size: items.length }
  })

  app.post(
    '/api/admin/models',
    {
      ...common,
      schema: {
        tags,
        security,
        summary: 'Add a model',
        body: Type.Object({ name: ModelName, ...ModelFields }, strict),
      },
    },
    async (request, reply) => {
      const model = await catalog.models.create(catalog.em(), request.body)
      await catalog.changed()
      return reply.code(201).send(model)
    },
  )

  app.put(
    '/api/admin/models/:name',
    {
      ...common,
      schema: {
        tags,
        security,
        summary: 'Change a model',
        params: Type.Object({ name: ModelName }),
        body: Type.Object(ModelFields, strict),
      },
    },
    async request => {
      const model = await catalog.models.update(catalog.em(), request.params.name, request.body)
      await catalog.changed()
      return model
    },
  )

  app.delete(
    '/api/admin/models/:name',
    {
      ...common,
      schema: { tags, security, summary: 'Remove a model no channel serves', params: Type.Object({ name: ModelName }) },
    },
    async (request, reply) => {
      await catalog.models.delete(catalog.em(), request.params.name)
      await catalog.changed()
      return reply.code(204).send()
    },
  )

  app.get(
    '/api/admin/chat-routes',
    { ...common, schema: { tags, security, summary: 'Chat group routes (group → channel)' } },
    async () => {
      const items = await catalog.routes.list(catalog.em())
      return { items, total: items.length, page: 1, page_size: items.length }
    },
  )

  app.post(
    '/api/admin/chat-routes',
    {
      ...common,
      schema: {
        tags,
        security,
        summary: "Send a group's portal traffic to one channel",
        body: Type.Object({ group_name: GroupName, channel_id: Type.Integer({ minimum: 1 }) }, strict),
      },
    },
    async (request, reply) => {
      const { created } = await catalog.routes.set(catalog.em(), request.body.group_name, request.body.channel_id)
      await catalog.changed()
      return reply
        .code(created ? 201 : 200)
        .send({ group_name: request.body.group_name, channel_id: request.body.channel_id })
    },
  )

  app.delete(
    '/api/admin/chat-routes/:group',
    {
      ...common,
      schema: { tags, security, summary: 'Remove a chat route', params: Type.Object({ group: GroupName }) },
    },
    async (request, reply) => {
      await catalog.routes.delete(catalog.em(), request.params.group)
      await catalog.changed()
      return reply.code(204).send()
    },
  )
}

/** The API's timeouts with each absent one null (the gateway's). */
function timeoutsOf(timeouts: Partial<Record<keyof ChannelTimeouts, number | null>> | undefined): ChannelTimeouts {
  return {
    connect_ms: timeouts?.connect_ms ?? null,
    first_byte_ms: timeouts?.first_byte_ms ?? null,
    idle_ms: timeouts?.idle_ms ?? null,
  }
}
