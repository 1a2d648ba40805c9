import type { Socket } from 'node:net'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { ConnectionException, DriverException } from '@mikro-orm/core'
import { errors, ParleyError } from '../errors.js'
import { languageOf } from '../i18n.js'
import { redactCredentials } from '../redact.js'
import { pathOf } from './context.js'

/** The one error shape every client sees. */
export interface ErrorEnvelope {
  error: { type: string; message: string; code?: string; [field: string]: unknown }
}

const TYPE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  408: 'request_timeout',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limit_exceeded',
  431: 'headers_too_large',
  503: 'service_unavailable',
}

/**
 * Maps every error to the envelope. Errors the kernel or a plugin raised on purpose keep their
 * status and message; framework errors are translated; anything unexpected becomes a 500 whose
 * body says only "internal error" with the request id, while the log keeps the stack. The
 * message is in the caller's language (`Accept-Language`, see `languageOf`): Chinese when the
 * error has a `zh` message and the caller prefers Chinese, English otherwise.
 */
export function toEnvelope(error: unknown, request: FastifyRequest): { status: number; body: ErrorEnvelope } {
  const mapped = translate(error, request)
  const body: ErrorEnvelope = {
    error: { type: mapped.type, message: messageFor(mapped, request), code: mapped.code, ...mapped.details },
  }
  return { status: mapped.statusCode, body }
}

/** The error's message in the language of the caller who made `request`. */
function messageFor(error: ParleyError, request: FastifyRequest): string {
  return error.localized(languageOf(request.headers['accept-language']))
}

function translate(error: unknown, request: FastifyRequest): ParleyError {
  if (error instanceof ParleyError) return error
  const fastifyError = error as Partial<FastifyError> & { status?: number; body?: unknown }
  if (fastifyError.validation) {
    const first = fastifyError.validation[0]
    const where = fastifyError.validationContext ?? 'body'
    // Missing and unknown properties are reported on their parent (`/user` + `age`); name the
    // field itself, so a client can point at it.
    const params = first?.params as { missingProperty?: string; additionalProperty?: string } | undefined
    const own = params?.missingProperty ?? params?.additionalProperty
    const field =
      [...(first?.instancePath ?? '').split('/').filter(Boolean), ...(own ? [own] : [])].join('.') || undefined
    const reason =
      params?.additionalProperty && field
        ? `${where}/${field} is not a known field`
        : (fastifyError.message ?? 'Invalid request')
    return errors.PARLEY_ERR_HTTP_VALIDATION({ reason }, { details: { location: where, ...(field ? { field } : {}) } })
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return errors.PARLEY_ERR_HTTP_BAD_JSON({
        reason:
          fastifyError.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
            ? 'the body is empty'
            : (fastifyError.message ?? 'unparseable'),
      })
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errors.PARLEY_ERR_HTTP_TOO_LARGE({ limit: request.routeOptions.bodyLimit ?? 'configured' })
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errors.PARLEY_ERR_HTTP_MEDIA_TYPE({ contentType: JSON.stringify(request.headers['content-type'] ?? '') })
    default:
      break
  }
  // Body parser errors (secure-json-parse) arrive as SyntaxError with status 400.
  if (error instanceof SyntaxError && fastifyError.statusCode === 400) {
    return errors.PARLEY_ERR_HTTP_BAD_JSON({ reason: error.message })
  }
  if (isDatabaseUnavailable(error)) return errors.PARLEY_ERR_DB_UNAVAILABLE()
  const status = fastifyError.statusCode ?? fastifyError.status
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new ParleyError(
      fastifyError.code ?? 'PARLEY_ERR_HTTP_CLIENT',
      status,
      TYPE_BY_STATUS[status] ?? 'invalid_request',
      fastifyError.message ?? 'Bad request',
    )
  }
  if (status === 503) return errors.PARLEY_ERR_HTTP_UNAVAILABLE({ reason: 'Service unavailable' })
  return errors.PARLEY_ERR_HTTP_INTERNAL({ requestId: request.id })
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'PROTOCOL_CONNECTION_LOST',
])

/**
 * A database that is down must answer a clear 503, not a 500 (or a hang): the request was fine,
 * the service is not. Lost connections, refused connections and an exhausted or closed pool.
 */
function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof ConnectionException) return true
  if (!(error instanceof DriverException)) return false
  const code = (error as DriverException & { code?: string }).code
  return (
    (code !== undefined && UNREACHABLE_CODES.has(code)) ||
    /Unable to acquire a connection|Timeout acquiring a connection/i.test(error.message)
  )
}

/**
 * Answers an unknown path itself (and says so with `true`), or leaves it to the JSON envelope
 * (`false`). The UI installs one that renders the theme's 404 page for browsers.
 */
export type NotFoundPage = (request: FastifyRequest, reply: FastifyReply) => boolean | Promise<boolean>

const notFoundPages = new WeakMap<object, NotFoundPage>()

/** Gives the root scope's 404 a page for browsers; `/api` and `/v1` stay JSON whatever it answers. */
export function setNotFoundPage(app: object, page: NotFoundPage): void {
  notFoundPages.set(app, (request, reply) => (isApiPath(pathOf(request.url)) ? false : page(request, reply)))
}

/** Paths whose answers are always JSON: the APIs. */
export function isApiPath(path: string): boolean {
  return /^\/(?:api|v1)(?:\/|$)/.test(path)
}

export const errorEnvelope = fp(
  function errorEnvelope(app: FastifyInstance, _options: unknown, ready: () => void) {
    app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
      const { status, body } = toEnvelope(error, request)
      if (status >= 500 && status !== 503) request.log.error({ err: error }, 'request failed')
      else if (status === 503)
        request.log.warn(
          {
            err_code: body.error.code,
            reason: redactCredentials(String((error as Error)?.message ?? '').split('\n')[0] ?? ''),
          },
          'request refused: service unavailable',
        )
      else request.log.debug({ err_type: body.error.type, err_code: body.error.code }, 'request refused')
      if (reply.sent || reply.raw.headersSent) return
      // Any refusal that says when to come back says it in the header too (RFC 9110 §10.2.3).
      if (typeof body.error.retry_after === 'number') void reply.header('retry-after', String(body.error.retry_after))
      void reply.code(status).type('application/json; charset=utf-8').send(body)
    })
    app.setNotFoundHandler(async (request, reply) => {
      // A browser asking for a page gets the UI's page (setNotFoundPage); API clients the envelope.
      const page = notFoundPages.get(app)
      if (page && (await page(request, reply))) return reply
      const error = errors.PARLEY_ERR_HTTP_NOT_FOUND({ method: request.method, path: pathOf(request.url) })
      return reply
        .code(404)
        .type('application/json; charset=utf-8')
        .send({ error: { type: error.type, message: messageFor(error, request), code: error.code } })
    })
    ready()
  },
  { name: 'parley-error-envelope', fastify: '5.x', dependencies: ['parley-request-context'] },
)

/**
 * Fastify `frameworkErrors`: the router's own refusals (an undecodable URL, an over-long path
 * parameter) skip hooks and the error handler, and Fastify's default body is not our envelope
 * and echoes the raw URL, query string included.
 */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const reason =
    error.code === 'FST_ERR_BAD_URL'
      ? 'The URL is not valid (bad percent-encoding)'
      : error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? 'A path segment is too long'
        : undefined
  const mapped = reason
    ? errors.PARLEY_ERR_HTTP_CLIENT({ reason })
    : errors.PARLEY_ERR_HTTP_INTERNAL({ requestId: request.id })
  if (!reason) request.log.error({ err: error }, 'request failed')
  void reply
    .header('x-request-id', request.id)
    .code(mapped.statusCode)
    .type('application/json; charset=utf-8')
    .send({ error: { type: mapped.type, message: messageFor(mapped, request), code: mapped.code } })
}

/**
 * Fastify `clientErrorHandler`: malformed HTTP before any route runs, still in our envelope.
 * Always English: no request, so no `Accept-Language`, was read.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy()
    return
  }
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400
  const body = JSON.stringify({
    error: {
      type: TYPE_BY_STATUS[status],
      message: status === 408 ? 'Request timed out' : 'Malformed HTTP request',
      code: 'PARLEY_ERR_HTTP_CLIENT',
    },
  })
  socket.end(
    `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\n` +
      `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  )
}
