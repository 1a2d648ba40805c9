import type { Readable } from 'node:stream'
import { ParleyError, Type, type HttpScope } from '@parley/core'
import { ROUTE_PREFIX, type LocalStorage } from './driver.js'
import { localErrors } from './errors.js'

const UploadQuery = Type.Object({
  expires: Type.Optional(Type.String({ description: 'expiry, seconds since the epoch' })),
  type: Type.Optional(Type.String({ description: 'the Content-Type the upload must have' })),
  length: Type.Optional(Type.String({ description: 'the exact size in bytes' })),
  sig: Type.Optional(Type.String({ description: 'HMAC-SHA256 of method, key, expiry, type and size (base64url)' })),
})
const DownloadQuery = Type.Object({
  expires: Type.Optional(Type.String({ description: 'expiry, seconds since the epoch' })),
  sig: Type.Optional(Type.String({ description: 'HMAC-SHA256 of method, key and expiry (base64url)' })),
})
const KeyParams = Type.Object({ '*': Type.String({ description: 'the object key' }) })

/**
 * Served on the page's origin, a stored object must never run as a page of the gateway: an HTML
 * or SVG upload would otherwise be stored XSS. `sandbox` gives it an opaque origin even when
 * opened directly; `nosniff` stops a browser from guessing a type other than the stored one.
 */
const SAFE_DOWNLOAD_HEADERS = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; sandbox",
  'cross-origin-resource-policy': 'same-site',
} as const

/**
 * `PUT /storage/local/<key>` and `GET /storage/local/<key>`: the signed URLs of the local driver.
 * They live in a scope of their own whose only body parser hands the request stream over
 * untouched, so an upload streams to disk instead of being buffered, and the gateway's
 * `body_limit` (meant for JSON) does not apply: the signed size does.
 */
export async function installStorageRoutes(http: HttpScope, storage: LocalStorage): Promise<void> {
  await http.register(async (scope: HttpScope) => {
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload))

    scope.put(
      `${ROUTE_PREFIX}*`,
      {
        schema: {
          tags: ['storage'],
          summary: 'Upload through a signed URL of the local storage driver',
          description:
            'The URL comes from the upload API. The body is the file; Content-Type and Content-Length must be the signed ones.',
          params: KeyParams,
          querystring: UploadQuery,
        },
      },
      async (request, reply) => {
        const key = request.params['*']
        const grant = storage.verifyUpload(key, request.query)
        if (request.headers['content-type'] !== grant.contentType) {
          throw localErrors.PARLEY_ERR_STORAGE_LOCAL_CONTENT_TYPE({ expected: grant.contentType })
        }
        const declared = request.headers['content-length']
        if (declared !== undefined) {
          const size = Number(declared)
          if (size > grant.length) {
            // Refused before a byte is read; the connection is closed rather than drained.
            void reply.header('connection', 'close')
            throw localErrors.PARLEY_ERR_STORAGE_LOCAL_TOO_LARGE({ length: grant.length })
          }
          if (size < grant.length)
            throw localErrors.PARLEY_ERR_STORAGE_LOCAL_LENGTH({ length: grant.length, received: size })
        }
        try {
          await storage.receive(key, request.body as Readable, grant)
        } catch (error) {
          if (error instanceof ParleyError && error.statusCode === 413) void reply.header('connection', 'close')
          throw error
        }
        return reply.code(200).send()
      },
    )

    scope.get(
      `${ROUTE_PREFIX}*`,
      {
        schema: {
          tags: ['storage'],
          summary: 'Download through a signed URL of the local storage driver',
          params: KeyParams,
          querystring: DownloadQuery,
        },
      },
      async (request, reply) => {
        const key = request.params['*']
        const expires = storage.verifyDownload(key, request.query)
        const object = await storage.get(key)
        if (!object) throw localErrors.PARLEY_ERR_STORAGE_LOCAL_NOT_FOUND()
        const maxAge = Math.max(0, expires - storage.nowSeconds())
        return reply
          .headers({
            ...SAFE_DOWNLOAD_HEADERS,
            'content-type': object.contentType,
            'content-length': String(object.size),
            'cache-control': `private, max-age=${maxAge}`,
          })
          .send(object.body)
      },
    )
  })
}
