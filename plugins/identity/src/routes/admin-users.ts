import { requireRole, Type, UniqueConstraintViolationException, type EntityManager } from '@parley/core'
import type { Identity } from '../context.js'
import { User } from '../entities.js'
import { identityErrors } from '../errors.js'
import { checkPasswordStrength, hashPassword } from '../passwords.js'
import {
  assertAvailable,
  normaliseEmail,
  normaliseUsername,
  uniqueViolation,
  type Role,
  type Status,
  type UserRow,
} from '../users.js'
import { requireGroup } from './admin-groups.js'
import {
  adminOnly,
  AdminUserSchema,
  listOf,
  PageQuery,
  RoleSchema,
  security,
  StatusSchema,
  strict,
} from './admin-schemas.js'
import { ErrorResponses } from './schemas.js'

const IdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) })

interface UserFilters {
  readonly q?: string | undefined
  readonly role?: Role | undefined
  readonly group?: string | undefined
  readonly status?: Status | undefined
}

/**
 * Users: list and search, create, change role, group and status. Only root may grant the root
 * role or change a root account, and the last active root can be neither demoted nor disabled,
 * so the console can never lock everyone out.
 */
export function installAdminUserRoutes(identity: Identity): void {
  const { http } = identity

  http.get(
    '/api/admin/users',
    {
      onRequest: adminOnly,
      schema: {
        tags: ['admin'],
        summary: 'Users, filtered and paged; q searches email and username',
        security,
        querystring: Type.Object(
          {
            q: Type.Optional(Type.String({ maxLength: 191 })),
            role: Type.Optional(RoleSchema),
            group: Type.Optional(Type.String({ maxLength: 64 })),
            status: Type.Optional(StatusSchema),
            ...PageQuery,
          },
          strict,
        ),
        response: { 200: listOf(AdminUserSchema), ...ErrorResponses },
      },
    },
    async request => {
      const { page, page_size, ...filters } = request.query
      const { total, users } = await searchUsers(identity.em(), filters, page, page_size)
      return { items: users.map(toAdminUser), total, page, page_size }
    },
  )

  http.post(
    '/api/admin/users',
    {
      onRequest: adminOnly,
      schema: {
        tags: ['admin'],
        summary: 'Create a user',
        security,
        body: Type.Object(
          {
            email: Type.String({ maxLength: 320 }),
            username: Type.String({ maxLength: 200 }),
            password: Type.String({ maxLength: 1024 }),
            role: Type.Optional(RoleSchema),
            group: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
          },
          strict,
        ),
        response: { 201: AdminUserSchema, ...ErrorResponses },
      },
    },
    async (request, reply) => {
      const caller = await requireRole(request, 'admin', 'root')
      const body = request.body
      const role = body.role ?? 'user'
      if (role === 'root' && caller.role !== 'root') throw identityErrors.PARLEY_ERR_IDENTITY_ROOT_ONLY()
      const email = normaliseEmail(body.email)
      const { username, key } = normaliseUsername(body.username)
      await checkPasswordStrength(body.password, { email, username })
      const em = identity.em()
      const group =
        body.group === undefined ? identity.settings.get('default_group') : (await requireGroup(em, body.group)).name
      await assertAvailable(em, { email, usernameKey: key })
      const user = em.create(User, {
        email,
        username,
        usernameKey: key,
        passwordHash: await hashPassword(body.password),
        role,
        groupName: group,
      })
      try {
        await em.flush()
      } catch (error) {
        if (error instanceof UniqueConstraintViolationException) throw uniqueViolation(error)
        throw error
      }
      request.log.info({ user_id: user.id, role, group, by: caller.userId }, 'admin created a user')
      return reply.code(201).send(toAdminUser(user))
    },
  )

  http.put(
    '/api/admin/users/:id',
    {
      onRequest: adminOnly,
      schema: {
        tags: ['admin'],
        summary: "Change a user's role, group or status; a role or status change ends their sessions",
        security,
        params: IdParams,
        // Exactly these three: email, username and password belong to the user (mass assignment).
        body: Type.Object(
          {
            role: Type.Optional(RoleSchema),
            group: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            status: Type.Optional(StatusSchema),
          },
          strict,
        ),
        response: { 200: AdminUserSchema, ...ErrorResponses },
      },
    },
    async request => {
      const caller = await requireRole(request, 'admin', 'root')
      const changes = request.body
      const em = identity.em()
      const user = await em.findOne(User, { id: request.params.id })
      if (!user) throw identityErrors.PARLEY_ERR_IDENTITY_USER_NOT_FOUND()
      if (caller.role !== 'root' && (user.role === 'root' || changes.role === 'root'))
        throw identityErrors.PARLEY_ERR_IDENTITY_ROOT_ONLY()
      const group = changes.group === undefined ? user.groupName : (await requireGroup(em, changes.group)).name
      const role = changes.role ?? (user.role as Role)
      const status = changes.status ?? (user.status as Status)
      const roleChanged = role !== user.role
      const statusChanged = status !== user.status
      const groupChanged = group !== user.groupName
      // Not proof against two roots demoting each other at the same instant; `parley
      // create-admin` is the way back in should that ever happen.
      if (user.role === 'root' && user.status === 'active' && (role !== 'root' || status !== 'active')) {
        if ((await em.count(User, { role: 'root', status: 'active' })) <= 1)
          throw identityErrors.PARLEY_ERR_IDENTITY_LAST_ROOT()
      }
      if (!roleChanged && !statusChanged && !groupChanged) return toAdminUser(user)
      user.role = role
      user.status = status
      user.groupName = group
      await em.flush()
      // A new role or a disabled account must not survive in a session minted before it.
      if (roleChanged || statusChanged) await identity.sessions.revokeAll(em, user.id)
      await identity.principals.forgetUser(user.id)
      request.log.info({ user_id: user.id, role, group, status, by: caller.userId }, 'admin changed a user')
      return toAdminUser(user)
    },
  )
}

export function toAdminUser(user: UserRow) {
  return {
    id: user.id,
    email: user.email,
    username: user.username,
    role: user.role as Role,
    group: user.groupName,
    status: user.status as Status,
    created_at: user.createdAt.toISOString(),
    last_login_at: user.lastLoginAt ? user.lastLoginAt.toISOString() : null,
  }
}

/**
 * One page of users matching the filters, by id. Plain SQL because `q` must match `%` and `_`
 * literally: the ORM's `$like` cannot add an ESCAPE clause, and SQLite has no default escape.
 * Email and username key are stored lower-cased, so lower-casing `q` makes the match
 * case-insensitive on both dialects.
 */
async function searchUsers(
  em: EntityManager,
  filters: UserFilters,
  page: number,
  pageSize: number,
): Promise<{ total: number; users: UserRow[] }> {
  const where: string[] = []
  const params: unknown[] = []
  if (filters.q !== undefined && filters.q.trim() !== '') {
    const pattern = `%${filters.q.trim().toLowerCase().replace(/[!%_]/g, '!$&')}%`
    where.push("(`email` like ? escape '!' or `username_key` like ? escape '!')")
    params.push(pattern, pattern)
  }
  for (const [column, value] of [
    ['role', filters.role],
    ['group_name', filters.group],
    ['status', filters.status],
  ] as const) {
    if (value === undefined) continue
    where.push(`\`${column}\` = ?`)
    params.push(value)
  }
  const clause = where.length > 0 ? `where ${where.join(' and ')}` : ''
  const connection = em.getConnection()
  const [counted] = (await connection.execute(
    `select count(*) as \`total\` from \`identity_users\` ${clause}`,
    params,
  )) as Array<{ total: number | string }>
  const ids = (await connection.execute(
    `select \`id\` from \`identity_users\` ${clause} order by \`id\` limit ? offset ?`,
    [...params, pageSize, (page - 1) * pageSize],
  )) as Array<{ id: number }>
  const users =
    ids.length === 0
      ? []
      : await em.find(User, { id: { $in: ids.map(row => Number(row.id)) } }, { orderBy: { id: 'asc' } })
  return { total: Number(counted?.total ?? 0), users }
}
