import { requireUser, Type } from '@parley/core'
import { CHAT_TOKEN_NAME } from '../api-tokens.js'
import type { Identity } from '../context.js'
import { identityErrors } from '../errors.js'
import { TokenSettingsBody } from '../token-settings.js'
import { ErrorResponses, NewTokenSchema, TokenInfoSchema } from './schemas.js'

const IdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) })
const Name = Type.String({ minLength: 1, maxLength: 64, pattern: '\\S' })

/** API tokens and the portal's chat token; always scoped to the caller. */
export function installTokenRoutes(identity: Identity): void {
  const { http, apiTokens } = identity
  const owner = async (request: Parameters<typeof requireUser>[0]) => Number((await requireUser(request)).userId)
  const security = [{ bearer: [] }]

  http.get(
    '/api/tokens',
    {
      schema: {
        tags: ['tokens'],
        summary: "The caller's API tokens (never the secrets)",
        security,
        response: {
          200: Type.Object({
            items: Type.Array(TokenInfoSchema),
            total: Type.Integer(),
            page: Type.Integer(),
            page_size: Type.Integer(),
          }),
          ...ErrorResponses,
        },
      },
    },
    async request => {
      const items = await apiTokens.list(identity.em(), await owner(request))
      return { items, total: items.length, page: 1, page_size: items.length }
    },
  )

  http.post(
    '/api/tokens',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Create an API token; the plaintext is in this answer only',
        security,
        body: Type.Object({ name: Name, ...TokenSettingsBody }, { additionalProperties: false }),
        response: { 201: NewTokenSchema, ...ErrorResponses },
      },
    },
    async (request, reply) => {
      const { name, ...settings } = request.body
      const userId = await owner(request)
      // The portal's own token is made by POST /api/chat/token only, never with limits.
      if (name.trim() === CHAT_TOKEN_NAME) throw identityErrors.PARLEY_ERR_IDENTITY_TOKEN_PROTECTED()
      return reply.code(201).send(await apiTokens.create(identity.em(), userId, name.trim(), settings))
    },
  )

  http.patch(
    '/api/tokens/:id',
    {
      schema: {
        tags: ['tokens'],
        summary:
          'Rename a token, switch it on or off, change its restrictions (expiry, models, addresses, RPM, quota) or reset its used tokens',
        security,
        params: IdParams,
        body: Type.Object(
          {
            name: Type.Optional(Name),
            ...TokenSettingsBody,
            used_tokens: Type.Optional(Type.Literal(0, { description: '0 starts the quota count again' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: TokenInfoSchema, ...ErrorResponses },
      },
    },
    async request => {
      const { name, used_tokens, ...settings } = request.body
      return apiTokens.update(identity.em(), await owner(request), request.params.id, {
        ...settings,
        ...(name === undefined ? {} : { name: name.trim() }),
        ...(used_tokens === 0 ? { resetUsed: true } : {}),
      })
    },
  )

  http.post(
    '/api/tokens/:id/regenerate',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Replace the secret of a token; the old one stops working',
        security,
        params: IdParams,
        response: { 200: NewTokenSchema, ...ErrorResponses },
      },
    },
    async request => apiTokens.regenerate(identity.em(), await owner(request), request.params.id),
  )

  http.delete(
    '/api/tokens/:id',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Delete a token',
        security,
        params: IdParams,
        response: { 204: Type.Null(), ...ErrorResponses },
      },
    },
    async (request, reply) => {
      await apiTokens.delete(identity.em(), await owner(request), request.params.id)
      return reply.code(204).send(null)
    },
  )

  http.post(
    '/api/chat/token',
    {
      schema: {
        tags: ['tokens'],
        summary: "Create, or rotate, the user's `chat` token for the portal",
        security,
        response: { 200: NewTokenSchema, ...ErrorResponses },
      },
    },
    async request => apiTokens.rotateChat(identity.em(), await owner(request)),
  )
}
