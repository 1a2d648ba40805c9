import { requireUser, Type, type ChatService, type FastifyRequest, type HttpScope } from '@parley/core'
import { modelConfigErrors } from './errors.js'
import type { ModelConfigStore } from './store.js'
import { ModelConfigView, Parameters, toWire } from './views.js'

const strict = { additionalProperties: false } as const
const security = [{ bearer: [] }]
const tags = ['model configs']

const Name = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' })
const BaseUrl = Type.String({ minLength: 1, maxLength: 2048 })
const Model = Type.String({ minLength: 1, maxLength: 191, pattern: '^\\S+$' })
const ApiKey = Type.String({ minLength: 1, maxLength: 4096, pattern: '^\\S+$' })
const IdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) }, strict)
const PageQuery = Type.Object(
  {
    page: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 }),
    page_size: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  },
  strict,
)

/** The signed-in user (a session; API tokens are for the data plane), before the body is read. */
async function signedIn(request: FastifyRequest): Promise<void> {
  await requireUser(request)
}

async function owner(request: FastifyRequest): Promise<{ userId: number; group: string }> {
  const user = await requireUser(request)
  return { userId: Number(user.userId), group: user.group }
}

/** `/api/model-configs`: the signed-in user's own configs only (docs/model-configs.md). */
export function installModelConfigRoutes(http: HttpScope, store: ModelConfigStore, chat: ChatService): void {
  http.get(
    '/api/model-configs',
    {
      onRequest: signedIn,
      schema: {
        tags,
        summary: 'Your personal model configs (keys only as hints)',
        security,
        querystring: PageQuery,
        response: {
          200: Type.Object({
            items: Type.Array(ModelConfigView),
            total: Type.Integer(),
            page: Type.Integer(),
            page_size: Type.Integer(),
          }),
        },
      },
    },
    async request => {
      const { userId } = await owner(request)
      const { page, page_size } = request.query
      const { rows, total } = await store.list(userId, page, page_size)
      return { items: rows.map(toWire), total, page, page_size }
    },
  )

  http.post(
    '/api/model-configs/can-create',
    {
      onRequest: signedIn,
      schema: {
        tags,
        summary: "Whether your group's quota admits another config",
        security,
        response: {
          200: Type.Object({ can_create: Type.Boolean(), limit: Type.Integer(), used: Type.Integer() }),
        },
      },
    },
    async request => {
      const { userId, group } = await owner(request)
      const { limit, used } = await store.quota(userId, group)
      return { can_create: used < limit, limit, used }
    },
  )

  http.post(
    '/api/model-configs',
    {
      onRequest: signedIn,
      schema: {
        tags,
        summary: 'Add a config: base URL, model, API key (sealed), parameters',
        security,
        body: Type.Object(
          { name: Name, base_url: BaseUrl, model: Model, api_key: ApiKey, parameters: Type.Optional(Parameters) },
          strict,
        ),
        response: { 201: ModelConfigView },
      },
    },
    async (request, reply) => {
      const { userId, group } = await owner(request)
      const row = await store.create(userId, group, request.body)
      return reply.code(201).send(toWire(row))
    },
  )

  http.put(
    '/api/model-configs/:id',
    {
      onRequest: signedIn,
      schema: {
        tags,
        summary: 'Change a config; a new api_key replaces the old one',
        security,
        params: IdParams,
        body: Type.Object(
          {
            name: Type.Optional(Name),
            base_url: Type.Optional(BaseUrl),
            model: Type.Optional(Model),
            api_key: Type.Optional(ApiKey),
            parameters: Type.Optional(Parameters),
          },
          strict,
        ),
        response: { 200: ModelConfigView },
      },
    },
    async request => {
      const { userId } = await owner(request)
      return toWire(await store.update(userId, request.params.id, request.body))
    },
  )

  http.post(
    '/api/model-configs/delete',
    {
      onRequest: signedIn,
      schema: {
        tags,
        summary: 'Delete configs; ids that are not yours are left alone',
        security,
        body: Type.Object(
          { ids: Type.Array(Type.Integer({ minimum: 1, maximum: 2_147_483_647 }), { minItems: 1, maxItems: 100 }) },
          strict,
        ),
        response: { 200: Type.Object({ deleted: Type.Integer() }) },
      },
    },
    async request => {
      const { userId } = await owner(request)
      return { deleted: await store.delete(userId, request.body.ids) }
    },
  )

  // A real round trip through the data plane (limited and logged like any call): a short
  // question, answered in the OpenAI format, or the upstream's refusal in the error envelope.
  http.post(
    '/api/model-configs/:id/test',
    {
      onRequest: signedIn,
      schema: { tags, summary: 'Ask the upstream a short question', security, params: IdParams },
    },
    async (request, reply) => {
      const principal = await requireUser(request)
      const row = await store.find(Number(principal.userId), request.params.id)
      if (!row) throw modelConfigErrors.PARLEY_ERR_MODEL_CONFIG_NOT_FOUND({ id: request.params.id })
      const upstream = store.upstream(row)
      return chat.run(request, reply, {
        body: { model: row.model, messages: [{ role: 'user', content: 'Say hello.' }], max_tokens: 16, stream: false },
        principal,
        endpoint: 'model-configs',
        upstream,
      })
    },
  )
}
