import { requireRole, Type, type FastifyRequest, type TSchema } from '@parley/core'

/** What every admin list answers when the client names no page size (Appendix A). */
export const DEFAULT_PAGE_SIZE = 20
/** Bounds the work and the answer of one list request. */
export const MAX_PAGE_SIZE = 100

export const strict = { additionalProperties: false } as const
export const security = [{ bearer: [] }]

/**
 * The guard of every admin route, run as the route's `onRequest` hook: before the body is
 * parsed or validated, so an anonymous caller learns nothing about the schema. `requireRole`
 * refuses a user's session with 403 and any API token with 401, an admin's included.
 */
export async function adminOnly(request: FastifyRequest): Promise<void> {
  await requireRole(request, 'admin', 'root')
}

export const PageQuery = {
  page: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 }),
  page_size: Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE }),
}

export function listOf<T extends TSchema>(item: T) {
  return Type.Object({
    items: Type.Array(item),
    total: Type.Integer(),
    page: Type.Integer(),
    page_size: Type.Integer(),
  })
}

export const RoleSchema = Type.Union([Type.Literal('root'), Type.Literal('admin'), Type.Literal('user')])
export const StatusSchema = Type.Union([Type.Literal('active'), Type.Literal('disabled')])

export const AdminUserSchema = Type.Object({
  id: Type.Integer(),
  email: Type.String(),
  username: Type.String(),
  role: RoleSchema,
  group: Type.String(),
  status: StatusSchema,
  created_at: Type.String(),
  last_login_at: Type.Union([Type.String(), Type.Null()]),
})

export const GroupSchema = Type.Object({
  name: Type.String(),
  description: Type.String(),
  rpm: Type.Union([Type.Integer(), Type.Null()]),
  /** null: every enabled model. */
  models: Type.Union([Type.Array(Type.String()), Type.Null()]),
  model_config_limit: Type.Integer(),
  members: Type.Integer(),
})
