import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import AjvCompiler from '@fastify/ajv-compiler'
import cors from '@fastify/cors'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { LogController, type FastifyInstance } from 'fastify'
import type { Config } from '../config/schema.js'
import { errors } from '../errors.js'
import { requestLogger } from '../log.js'
import type { Logger } from '../logger.js'
import { clientErrorHandler, errorEnvelope, frameworkErrorHandler } from './errors.js'
import { requestContext, requestIdFrom } from './context.js'
import { jsonBody } from './json-body.js'

/**
 * How often Node checks connections against headersTimeout and requestTimeout. Its default of
 * 30 s would let a slow client hold a socket for half a minute whatever the timeouts say.
 */
const CONNECTIONS_CHECK_INTERVAL_MS = 1000

declare module 'fastify' {
  interface FastifyInstance {
    /** True once the server began to close: answers should say `connection: close`. */
    readonly draining: boolean
  }
}

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
    childLoggerFactory: (logger, bindings) => requestLogger(logger, bindings),
    trustProxy: server.trust_proxy === false ? false : [...server.trust_proxy],
    bodyLimit: server.body_limit,
    requestTimeout: server.request_timeout_ms,
    keepAliveTimeout: server.keep_alive_timeout_ms,
    http: { connectionsCheckingInterval: CONNECTIONS_CHECK_INTERVAL_MS },
    // Fastify's own 503 body is not our envelope; installDrain answers instead.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    clientErrorHandler,
    frameworkErrors: frameworkErrorHandler,
    schemaController: { compilersFactory: { buildValidator: validatorWithoutBodyCoercion() } },
  }).withTypeProvider<TypeBoxTypeProvider>()
  // Node requires headersTimeout <= requestTimeout; a client must finish its headers quickly.
  app.server.headersTimeout = Math.min(server.headers_timeout_ms, server.request_timeout_ms)

  await app.register(requestContext)
  await app.register(errorEnvelope)
  await app.register(jsonBody)
  installDrain(app)
  const origins = server.cors_origins
  await app.register(cors, {
    origin: origins.includes('*') ? true : [...origins],
    credentials: !origins.includes('*'),
    exposedHeaders: ['x-request-id', 'retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
    maxAge: 600,
  })
  return app as unknown as HttpScope
}

/**
 * While the server closes: refuse new requests with the envelope, tell clients of running ones
 * not to reuse the connection, and close each connection as soon as its response is done.
 * Otherwise keep-alive sockets would hold `close()` open until the shutdown deadline.
 */
function installDrain(app: FastifyInstance): void {
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })
  // For answers that take over from Fastify (the data plane's): no onSend hook runs for them.
  app.decorate('draining', { getter: () => closing })
  // Callback hooks, not async ones: they run on every request, and a promise each is waste.
  app.addHook('onRequest', (_request, reply, done) => {
    if (!closing) return done()
    void reply.header('connection', 'close')
    done(errors.PARLEY_ERR_HTTP_SHUTTING_DOWN())
  })
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) void reply.header('connection', 'close')
    done(null, payload)
  })
  app.addHook('onResponse', (_request, _reply, done) => {
    // After 'finish' Node has detached the response; the socket now counts as idle.
    if (closing) setImmediate(() => app.server.closeIdleConnections())
    done()
  })
}

/**
 * Query strings and path parameters arrive as text, so their numbers and booleans are coerced;
 * a JSON body is already typed, and coercing it would turn `{"name": 42}` into "42" instead of
 * refusing it as the OpenAI API does. One compiler per kind of input, same options otherwise.
 */
function validatorWithoutBodyCoercion(): AjvCompiler.BuildCompilerFromPool {
  const factory = AjvCompiler()
  const common = { removeAdditional: false, useDefaults: true, allErrors: false } as const
  return (externalSchemas, options) => {
    const body = factory(externalSchemas, {
      ...options,
      mode: undefined,
      customOptions: { ...common, coerceTypes: false },
    })
    const text = factory(externalSchemas, {
      ...options,
      mode: undefined,
      customOptions: { ...common, coerceTypes: 'array' },
    })
    // Fastify calls the compiler with { schema, method, url, httpPart }; the typings say schema only.
    return route => ((route as unknown as { httpPart?: string }).httpPart === 'body' ? body : text)(route)
  }
}
