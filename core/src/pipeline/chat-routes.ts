import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { errors } from '../errors.js'
import { andThen, type MaybePromise } from '../maybe.js'
import type { HttpScope } from '../http/server.js'
import type { ChatCall, ChatPipeline } from './chat-pipeline.js'
import { chatCompletions } from './formats/chat-completions.js'
import { responses } from './formats/responses.js'
import type { Principal } from '../auth/principal.js'
import type { Registry } from '../kernel/registry.js'
import { personalBody, resolvePersonal, type PersonalModels } from './personal-upstream.js'

/**
 * Only what the gateway itself needs is checked here; every other field goes to the upstream
 * untouched, which validates it as OpenAI does (and answers 400 through us).
 */
const Message = Type.Object(
  {
    role: Type.Union(['system', 'developer', 'user', 'assistant', 'tool', 'function'].map(role => Type.Literal(role))),
    content: Type.Optional(
      Type.Union([
        Type.String(),
        Type.Null(),
        Type.Array(Type.Object({ type: Type.String({ minLength: 1 }) }, { additionalProperties: true })),
      ]),
    ),
  },
  { additionalProperties: true },
)

const Model = Type.String({ minLength: 1, maxLength: 191 })

const ChatCompletionBody = Type.Object(
  {
    model: Model,
    messages: Type.Array(Message, { minItems: 1 }),
    stream: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    stream_options: Type.Optional(
      Type.Union([
        Type.Object({ include_usage: Type.Optional(Type.Boolean()) }, { additionalProperties: true }),
        Type.Null(),
      ]),
    ),
  },
  { additionalProperties: true },
)

const ResponsesBody = Type.Object(
  {
    model: Model,
    input: Type.Union([Type.String(), Type.Array(Type.Object({}, { additionalProperties: true }))]),
    stream: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
  },
  { additionalProperties: true },
)

/** The portal's body: an OpenAI request, optionally run through one of the caller's personal configs. */
const PortalChatBody = Type.Object(
  {
    ...ChatCompletionBody.properties,
    model_config_id: Type.Optional(Type.Integer({ minimum: 1, description: 'One of your personal model configs' })),
  },
  { additionalProperties: true },
)

/** The header with which the chat page marks its `/v1` calls as portal traffic. */
export const PORTAL_HEADER = 'x-parley-chat'

/**
 * The OpenAI-compatible data plane (`/v1/chat/completions`, `/v1/responses`) and the portal's
 * chat endpoint (`/api/chat/completions`, guests included when guest access is on), all
 * served by one pipeline.
 */
export function installChatRoutes(app: HttpScope, pipeline: ChatPipeline, personal: Registry<PersonalModels>): void {
  const security: Array<Record<string, string[]>> = [{ bearer: [] }, { apiKey: [] }]
  app.post(
    '/v1/chat/completions',
    {
      schema: {
        tags: ['data plane'],
        summary: 'Chat completion (OpenAI format, streaming or not)',
        security,
        body: ChatCompletionBody,
      },
    },
    apiHandler(pipeline, chatCompletions, 'chat.completions'),
  )
  app.post(
    '/v1/responses',
    {
      schema: {
        tags: ['data plane'],
        summary: 'Responses API (OpenAI format, streaming or not)',
        security,
        body: ResponsesBody,
      },
    },
    apiHandler(pipeline, responses, 'responses'),
  )
  app.post(
    '/api/chat/completions',
    {
      schema: {
        tags: ['portal'],
        summary: 'Chat from the portal (guest or signed in); chat routes apply',
        body: PortalChatBody,
      },
    },
    async (request, reply) => {
      const principal = await request.principal()
      if (!principal) throw errors.PARLEY_ERR_AUTH_REQUIRED()
      const configId = request.body.model_config_id
      // The usual call: the body as it came, no copy.
      if (configId === undefined)
        return pipeline.handle(request, reply, {
          format: chatCompletions,
          body: request.body as Record<string, unknown>,
          principal,
          portal: true,
          endpoint: 'portal',
        })
      // Our field stays with us; the upstream gets the rest.
      const { model_config_id: _own, ...body } = request.body
      const upstream = await resolvePersonal(personal, principal, configId)
      return pipeline.handle(request, reply, {
        format: chatCompletions,
        body: personalBody(body, 'chat', upstream),
        principal,
        portal: true,
        endpoint: 'portal',
        upstream,
      })
    },
  )
}

/**
 * A `/v1` handler. Not async: a cached token's principal is here at once, and the call then
 * costs no promise of its own (each one is paid for by every other await in the process while
 * promise hooks are on; see bench/NOTES.md).
 */
function apiHandler(pipeline: ChatPipeline, format: ChatCall['format'], endpoint: ChatCall['endpoint']) {
  return (request: FastifyRequest, reply: FastifyReply): MaybePromise<unknown> =>
    andThen(request.principal(), found => {
      const principal = apiCaller(found)
      return pipeline.handle(request, reply, {
        format,
        body: request.body as Record<string, unknown>,
        principal,
        portal: isPortalCall(request, principal),
        endpoint,
      })
    })
}

/** `/v1` needs a credential: a guest (no token) is refused even when the portal admits guests. */
function apiCaller(principal: Principal | undefined): Principal {
  if (!principal) throw errors.PARLEY_ERR_AUTH_REQUIRED()
  if (principal.kind === 'guest') throw errors.PARLEY_ERR_CHAT_GUEST_API()
  return principal
}

/** Seed 000: the chat page calls `/v1` with the user's `chat` token and `X-Parley-Chat: 1`; the marker counts with that token only. */
function isPortalCall(request: FastifyRequest, principal: Principal): boolean {
  return principal.kind === 'api_token' && principal.portal === true && request.headers[PORTAL_HEADER] === '1'
}
