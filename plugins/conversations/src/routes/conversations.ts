import { callerOf, type Conversations } from '../context.js'
import { conversationErrors } from '../errors.js'
import { conversationJson, CreateBody, DeleteBody, IdParams, ListQuery, pageJson, UpdateBody } from '../views.js'

const tags = ['conversations']

/** The owner's conversations: list and search, create, read, rename and archive, delete (docs/conversations.md). */
export function installConversationRoutes(c: Conversations): void {
  c.http.get(
    '/api/conversations',
    {
      schema: {
        tags,
        summary: "The caller's conversations, newest activity first; q searches titles",
        querystring: ListQuery,
      },
    },
    async request => {
      const { owner } = await callerOf(request)
      const { q, archived, page, page_size } = request.query
      const found = await c.store.list(
        { ownerKind: owner.kind, ownerId: owner.id, archived: archived ? 'only' : 'exclude', ...(q ? { q } : {}) },
        { page, pageSize: page_size },
      )
      return pageJson(found, conversationJson)
    },
  )

  c.http.post(
    '/api/conversations',
    {
      schema: {
        tags,
        summary: 'Start a conversation with a catalog model or a personal model config',
        body: CreateBody,
      },
    },
    async (request, reply) => {
      const { owner, principal } = await callerOf(request)
      const { model, model_config_id, title } = request.body
      if ((model === undefined) === (model_config_id === undefined))
        throw conversationErrors.PARLEY_ERR_CONVERSATION_MODEL_REQUIRED()
      // A config must exist and be the caller's before it is stored (opened here, used later).
      if (model_config_id !== undefined) await c.targets.config(principal, model_config_id)
      const created = await c.store.create(owner, {
        model: model ?? null,
        modelConfigId: model_config_id ?? null,
        ...(title !== undefined ? { title } : {}),
      })
      return reply.code(201).send(conversationJson(created))
    },
  )

  c.http.get(
    '/api/conversations/:id',
    {
      schema: {
        tags,
        summary: 'One conversation (its title, for a client waiting for the title job)',
        params: IdParams,
      },
    },
    async request => {
      const { owner } = await callerOf(request)
      const found = await c.store.find(owner, request.params.id)
      if (!found) throw conversationErrors.PARLEY_ERR_CONVERSATION_NOT_FOUND({ id: request.params.id })
      return conversationJson(found)
    },
  )

  c.http.put(
    '/api/conversations/:id',
    {
      schema: {
        tags,
        summary: 'Rename a conversation (the title job never overwrites it), archive it or bring it back',
        params: IdParams,
        body: UpdateBody,
      },
    },
    async request => {
      const { owner } = await callerOf(request)
      return conversationJson(await c.store.update(owner, request.params.id, request.body))
    },
  )

  c.http.post(
    '/api/conversations/delete',
    {
      schema: { tags, summary: "Delete some of the caller's conversations; others' ids are ignored", body: DeleteBody },
    },
    async request => {
      const { owner } = await callerOf(request)
      return { deleted: await c.store.remove(owner, request.body.ids) }
    },
  )
}
