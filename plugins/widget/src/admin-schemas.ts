import { requireRole, Type, type FastifyRequest } from '@parley/core'

export const strict = { additionalProperties: false } as const
export const security = [{ bearer: [] }]

/** Every admin route's guard, before the body is parsed: an anonymous caller learns nothing. */
export async function adminOnly(request: FastifyRequest): Promise<void> {
  await requireRole(request, 'admin', 'root')
}

export const IdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) }, strict)

export const PageQuery = Type.Object(
  {
    page: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 }),
    page_size: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  },
  strict,
)

/** The fields an admin sets; all of them on create (but the optional ones), any of them on update. */
export const ClientFields = {
  name: Type.String({ minLength: 1, maxLength: 100 }),
  allowed_ips: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
    maxItems: 100,
    description: 'Addresses or CIDR ranges (IPv4, IPv6) the business backend calls from',
  }),
  allowed_origins: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
    maxItems: 100,
    description: 'Origins of the pages that may embed the widget, e.g. https://shop.example',
  }),
  model: Type.String({ minLength: 1, maxLength: 128, description: 'A catalog model name (a Coze bot model too)' }),
  rpm: Type.Integer({
    minimum: 0,
    maximum: 1_000_000,
    description: 'Per external user; 0: only rate-limit.widget_rpm',
  }),
  transcripts: Type.Boolean(),
  enabled: Type.Boolean(),
  greeting: Type.String({ maxLength: 500 }),
  theme_color: Type.String({ pattern: '^#[0-9a-fA-F]{6}$' }),
}

export const CreateBody = Type.Object(
  {
    name: ClientFields.name,
    allowed_ips: ClientFields.allowed_ips,
    allowed_origins: ClientFields.allowed_origins,
    model: ClientFields.model,
    rpm: Type.Optional(ClientFields.rpm),
    transcripts: Type.Optional(ClientFields.transcripts),
    enabled: Type.Optional(ClientFields.enabled),
    greeting: Type.Optional(ClientFields.greeting),
    theme_color: Type.Optional(ClientFields.theme_color),
  },
  strict,
)

export const UpdateBody = Type.Partial(Type.Object(ClientFields, strict), strict)

export const RotateBody = Type.Object(
  {
    overlap_seconds: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 30 * 86_400, description: 'How long the old secret still verifies' }),
    ),
  },
  strict,
)

export const ClientSchema = Type.Object({
  id: Type.Integer(),
  client_id: Type.String(),
  name: Type.String(),
  allowed_ips: Type.Array(Type.String()),
  allowed_origins: Type.Array(Type.String()),
  model: Type.String(),
  rpm: Type.Integer(),
  transcripts: Type.Boolean(),
  enabled: Type.Boolean(),
  greeting: Type.String(),
  theme_color: Type.String(),
  /** Until when the secret before the last rotation still verifies; null when it no longer does. */
  previous_secret_expires_at: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String(),
  updated_at: Type.String(),
})

export const CreatedSchema = Type.Intersect([ClientSchema, Type.Object({ secret: Type.String() })])
