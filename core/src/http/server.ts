import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import cors from '@fastify/cors'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { LogController, type FastifyInstance } from 'fastify'
import type { Config } from '../config/schema.js'
import type { Logger } from '../logger.js'
import { clientErrorHandler, installErrorHandling } from './errors.js'
import { installRequestContext, requestIdFrom } from './context.js'

/** The Fastify instance type every plugin scope has: TypeBox schemas type the handlers. */
export type HttpScope = FastifyInstance<Server, IncomingMessage, ServerResponse, Logger, TypeBoxTypeProvider>

/**
 * The root Fastify instance with the kernel's cross-cutting behaviour: request context, the
 * error envelope, timeouts against slow clients, proxy trust, CORS. Plugins get child scopes.
 */
export async function createHttpServer(config: Config, log: Logger): Promise<HttpScope> {
  const server = config.server
  const app = Fastify({
    loggerInstance: log,
    // One line per request, written by the request context instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    genReqId: requestIdFrom,
    trustProxy: server.trust_proxy === false ? false : [...server.trust_proxy],
    bodyLimit: server.body_limit,
    requestTimeout: server.request_timeout_ms,
    keepAliveTimeout: server.keep_alive_timeout_ms,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    clientErrorHandler,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>()
  // Node requires headersTimeout <= requestTimeout; a client must finish its headers quickly.
  app.server.headersTimeout = Math.min(server.headers_timeout_ms, server.request_timeout_ms)

  installRequestContext(app)
  installErrorHandling(app)
  const origins = server.cors_origins
  await app.register(cors, {
    origin: origins.includes('*') ? true : [...origins],
    credentials: !origins.includes('*'),
    exposedHeaders: ['x-request-id', 'retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
    maxAge: 600,
  })
  return app as unknown as HttpScope
}
