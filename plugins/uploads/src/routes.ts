import { errors, Type, UPLOAD_MAX_BYTES, type FastifyRequest, type HttpScope, type Principal } from '@parley/core'
import type { Uploads } from './uploads.js'

const strict = { additionalProperties: false }
const tags = ['uploads']
const security = [{ bearer: [] }]

const PresignBody = Type.Object(
  {
    conversation_id: Type.String({
      pattern: '^[A-Za-z0-9_-]{1,64}$',
      description: 'The conversation the images belong to (a namespace under your own uploads)',
    }),
    files: Type.Array(
      Type.Object(
        {
          extension: Type.String({ minLength: 1, maxLength: 10, description: 'png, jpg, jpeg, webp or gif' }),
          content_type: Type.String({ minLength: 1, maxLength: 100, description: 'Must agree with the extension' }),
          size: Type.Integer({ minimum: 0, maximum: UPLOAD_MAX_BYTES, description: 'Exact size in bytes' }),
        },
        strict,
      ),
      { minItems: 1, maxItems: 50 },
    ),
  },
  strict,
)

const PresignedItem = Type.Object({
  key: Type.String({ description: 'Refer to the image as parley-object://<key> in a message' }),
  url: Type.String(),
  method: Type.Union([Type.Literal('PUT'), Type.Literal('POST')]),
  headers: Type.Record(Type.String(), Type.String()),
  fields: Type.Optional(Type.Record(Type.String(), Type.String())),
  expires_at: Type.String({ format: 'date-time' }),
})

const ViewBody = Type.Object(
  { keys: Type.Array(Type.String({ minLength: 1, maxLength: 512 }), { minItems: 1, maxItems: 100 }) },
  strict,
)

const ViewItem = Type.Object({
  key: Type.String(),
  url: Type.String(),
  expires_at: Type.String({ format: 'date-time' }),
})

/** Any caller the gateway knows (a user, an API token, a guest, a widget user); anonymous: 401. */
async function callerOf(request: FastifyRequest): Promise<Principal> {
  const principal = await request.principal()
  if (!principal) throw errors.PARLEY_ERR_AUTH_REQUIRED()
  return principal
}

/** `POST /api/uploads/presign` and `POST /api/uploads/view` (docs/storage.md#uploads). */
export function installUploadRoutes(http: HttpScope, uploads: Uploads): void {
  http.post(
    '/api/uploads/presign',
    {
      schema: {
        tags,
        security,
        summary: 'Presigned upload URLs for images: send each file straight to its URL',
        body: PresignBody,
        response: { 200: Type.Object({ items: Type.Array(PresignedItem) }) },
      },
    },
    async request => {
      const principal = await callerOf(request)
      const { conversation_id, files } = request.body
      return { items: await uploads.presign(principal, conversation_id, files) }
    },
  )

  http.post(
    '/api/uploads/view',
    {
      schema: {
        tags,
        security,
        summary: 'Short-lived download URLs of your own stored images (to show them again)',
        body: ViewBody,
        response: { 200: Type.Object({ items: Type.Array(ViewItem) }) },
      },
    },
    async request => ({ items: await uploads.view(await callerOf(request), request.body.keys) }),
  )
}
