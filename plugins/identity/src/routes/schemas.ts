import { Type } from '@parley/core'
import { TokenSettingsSchema } from '../token-settings.js'

/** Response schemas double as the OpenAPI document and as a guard: undeclared fields are never serialised. */

export const PublicUserSchema = Type.Object({
  id: Type.Integer(),
  email: Type.String(),
  username: Type.String(),
  role: Type.Union([Type.Literal('root'), Type.Literal('admin'), Type.Literal('user')]),
  group: Type.String(),
})

export const TokenPairSchema = Type.Object({
  access_token: Type.String(),
  refresh_token: Type.String(),
  token_type: Type.Literal('bearer'),
  expires_in: Type.Integer(),
  user: PublicUserSchema,
})

export const TokenInfoSchema = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  hint: Type.String(),
  created_at: Type.String(),
  last_used_at: Type.Union([Type.String(), Type.Null()]),
  ...TokenSettingsSchema,
})

export const NewTokenSchema = Type.Composite([TokenInfoSchema, Type.Object({ token: Type.String() })])

const ErrorSchema = Type.Object(
  {
    error: Type.Object(
      { type: Type.String(), message: Type.String(), code: Type.Optional(Type.String()) },
      { additionalProperties: true },
    ),
  },
  { description: 'The error envelope' },
)

export const ErrorResponses = { '4xx': ErrorSchema }
