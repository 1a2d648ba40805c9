import { errors, Type, UniqueConstraintViolationException, type EntityManager, type InferEntity } from '@parley/core'
import type { Identity } from '../context.js'
import { Group, User } from '../entities.js'
import { identityErrors } from '../errors.js'
import { ErrorResponses } from './schemas.js'
import { adminOnly, GroupSchema, listOf, PageQuery, security, strict } from './admin-schemas.js'

type GroupRow = InferEntity<typeof Group>

/** The group every installation starts with (migration 0001); new users land there by default. */
const BUILT_IN_GROUP = 'default'
/** `identity_groups.models` is TEXT: 64 KiB on MySQL. */
const MODELS_MAX_BYTES = 65_535

const Name = Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9_-]+$' })
const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }) })
const Fields = {
  description: Type.Optional(Type.String({ maxLength: 255 })),
  rpm: Type.Optional(
    Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000 }), Type.Null()], {
      description: 'null: the user_rpm setting applies',
    }),
  ),
  models: Type.Optional(
    Type.Union(
      [Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: 200, uniqueItems: true }), Type.Null()],
      {
        description:
          'Model names members (and guests, of the default group) may use; []: none; null: every enabled model',
      },
    ),
  ),
  model_config_limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
}

/** The group named so, or a 404 naming it. On MySQL the lookup ignores case: use the row's name after. */
export async function requireGroup(em: EntityManager, name: string): Promise<GroupRow> {
  const group = await em.findOne(Group, { name })
  if (!group) throw identityErrors.PARLEY_ERR_IDENTITY_GROUP_NOT_FOUND({ name })
  return group
}

/** Groups: list, create, change limits, delete when empty (docs/identity.md, Groups). */
export function installAdminGroupRoutes(identity: Identity): void {
  const { http } = identity

  http.get(
    '/api/admin/groups',
    {
      onRequest: adminOnly,
      schema: {
        tags: ['admin'],
        summary: 'Groups with their limits and member counts',
        security,
        querystring: Type.Object(PageQuery, strict),
        response: { 200: listOf(GroupSchema), ...ErrorResponses },
      },
    },
    async request => {
      const { page, page_size } = request.query
      const em = identity.em()
      const [rows, total] = await em.findAndCount(
        Group,
        {},
        { orderBy: { name: 'asc' }, limit: page_size, offset: (page - 1) * page_size },
      )
      const members = await memberCounts(
        em,
        rows.map(row => row.name),
      )
      return { items: rows.map(row => toWire(row, members.get(row.name) ?? 0)), total, page, page_size }
    },
  )

  http.post(
    '/api/admin/groups',
    {
      onRequest: adminOnly,
      schema: {
        tags: ['admin'],
        summary: 'Create a group',
        security,
        body: Type.Object({ name: Name, ...Fields }, strict),
        response: { 201: GroupSchema, ...ErrorResponses },
      },
    },
    async (request, reply) => {
      const { name, description, rpm, models, model_config_limit } = request.body
      const em = identity.em()
      if (await em.findOne(Group, { name })) throw identityErrors.PARLEY_ERR_IDENTITY_GROUP_EXISTS({ name })
      const group = em.create(Group, {
        name,
        description: description ?? '',
        rpm: rpm ?? null,
        models: encodeModels(models ?? null),
        modelConfigLimit: model_config_limit ?? 0,
      })
      try {
        await em.flush()
      } catch (error) {
        if (error instanceof UniqueConstraintViolationException)
          throw identityErrors.PARLEY_ERR_IDENTITY_GROUP_EXISTS({ name })
        throw error
      }
      // Users may already name a group that did not exist (registration does not check the
      // default group): their cached principal has no limits yet.
      if (group.rpm !== null || group.models !== null) await identity.principals.forgetAllUsers()
      request.log.info({ group: name }, 'group created')
      return reply.code(201).send(toWire(group, 0))
    },
  )

  http.put(
    '/api/admin/groups/:name',
    {
      onRequest: adminOnly,
      schema: {
        tags: ['admin'],
        summary: "Change a group's description, RPM, models or model config limit",
        security,
        params: NameParams,
        body: Type.Object(Fields, strict),
        response: { 200: GroupSchema, ...ErrorResponses },
      },
    },
    async request => {
      const body = request.body
      const em = identity.em()
      const group = await requireGroup(em, request.params.name)
      if (body.description !== undefined) group.description = body.description
      if (body.rpm !== undefined) group.rpm = body.rpm
      if (body.models !== undefined) group.models = encodeModels(body.models)
      if (body.model_config_limit !== undefined) group.modelConfigLimit = body.model_config_limit
      await em.flush()
      // Members (and guests) carry the group's limit and model list in their cached principal: refresh them everywhere.
      if (body.rpm !== undefined || body.models !== undefined) await identity.principals.forgetAllUsers()
      request.log.info({ group: group.name }, 'group changed')
      return toWire(group, (await memberCounts(em, [group.name])).get(group.name) ?? 0)
    },
  )

  http.delete(
    '/api/admin/groups/:name',
    {
      onRequest: adminOnly,
      schema: {
        tags: ['admin'],
        summary: 'Delete a group without members',
        security,
        params: NameParams,
        response: { 204: Type.Null(), ...ErrorResponses },
      },
    },
    async (request, reply) => {
      const em = identity.em()
      const group = await requireGroup(em, request.params.name)
      // Registration assigns the default group without checking it exists; it must stay.
      if (group.name === BUILT_IN_GROUP || group.name === identity.settings.get('default_group')) {
        throw identityErrors.PARLEY_ERR_IDENTITY_GROUP_PROTECTED({ name: group.name })
      }
      const count = await em.count(User, { groupName: group.name })
      if (count > 0) throw identityErrors.PARLEY_ERR_IDENTITY_GROUP_IN_USE({ name: group.name, count })
      await em.removeAndFlush(group)
      request.log.info({ group: group.name }, 'group deleted')
      return reply.code(204).send(null)
    },
  )
}

function toWire(group: GroupRow, members: number) {
  return {
    name: group.name,
    description: group.description,
    rpm: group.rpm ?? null,
    models: group.models == null ? null : (JSON.parse(group.models) as string[]),
    model_config_limit: group.modelConfigLimit,
    members,
  }
}

function encodeModels(models: readonly string[] | null): string | null {
  if (models === null) return null
  const json = JSON.stringify(models)
  if (Buffer.byteLength(json) > MODELS_MAX_BYTES) {
    throw errors.PARLEY_ERR_HTTP_VALIDATION(
      { reason: `body/models is longer than ${MODELS_MAX_BYTES} bytes` },
      { details: { location: 'body', field: 'models' } },
    )
  }
  return json
}

/** Members per group in one grouped query instead of one count per listed group. */
async function memberCounts(em: EntityManager, names: readonly string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>()
  if (names.length === 0) return counts
  const rows: Array<{ name: string; members: number | string }> = await em
    .getConnection()
    .execute(
      `select \`group_name\` as \`name\`, count(*) as \`members\` from \`identity_users\` where \`group_name\` in (${names.map(() => '?').join(', ')}) group by \`group_name\``,
      [...names],
    )
  for (const row of rows) counts.set(row.name, Number(row.members))
  return counts
}
