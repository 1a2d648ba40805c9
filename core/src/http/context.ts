import { randomFillSync, randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { errors } from '../errors.js'
import { bindRequestFields } from '../log.js'

/** Per-request facts set once in onRequest and read everywhere after. */
export interface RequestContext {
  /** W3C trace id (32 hex); taken from `traceparent` or generated. */
  readonly traceId: string
  /** Span id of the caller from `traceparent`, if any. */
  readonly parentSpanId: string | undefined
  /** `process.hrtime.bigint()` at arrival, for latency. */
  readonly startedAt: bigint
  /**
   * The client's address (`request.ip`, proxy headers honoured per `server.trust_proxy`), read
   * on arrival: once the client has gone its socket no longer knows it.
   */
  readonly ip: string
}

declare module 'fastify' {
  interface FastifyRequest {
    parley: RequestContext
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/

/** Fastify `genReqId`: the caller's X-Request-Id when it is sane, else a fresh UUID. */
export function requestIdFrom(request: { headers: Record<string, string | string[] | undefined> }): string {
  const given = request.headers['x-request-id']
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
}

export function parseTraceparent(header: unknown): { traceId: string; parentSpanId: string } | undefined {
  if (typeof header !== 'string') return undefined
  const match = TRACEPARENT.exec(header.trim().toLowerCase())
  if (!match) return undefined
  const [, version, traceId, spanId] = match as unknown as [string, string, string, string]
  // Version ff is invalid, and all-zero ids mean "absent" (W3C Trace Context §3.2.2).
  if (version === 'ff' || /^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined
  return { traceId, parentSpanId: spanId }
}

/**
 * Sets the request context and binds it to `request.log`, so every line logged for a request
 * carries request id, trace id and client IP (the IP honours proxy headers only from
 * `server.trust_proxy`, which Fastify applies). The request id is echoed in `X-Request-Id`.
 */
export const requestContext = fp(
  function requestContext(app: FastifyInstance, _options: unknown, ready: () => void) {
    app.decorateRequest('parley', null as unknown as RequestContext)
    // Callback hooks: they run on every request, and a promise each is waste.
    app.addHook('onRequest', (request: FastifyRequest, reply, done) => {
      const trace = parseTraceparent(request.headers.traceparent)
      request.parley = {
        traceId: trace?.traceId ?? newTraceId(),
        parentSpanId: trace?.parentSpanId,
        startedAt: process.hrtime.bigint(),
        ip: request.ip,
      }
      // Fastify gives each request its own child logger (bound to the request id) unless logging
      // is off, when every request shares one: only a request's own logger gets the fields.
      if (request.log !== request.server.log)
        bindRequestFields(request.log, () => ({ trace_id: request.parley.traceId, ip: request.parley.ip }))
      reply.header('x-request-id', request.id)
      // `%00` in a path or query decodes to a NUL, which no route accepts (see json-body.ts).
      if (request.url.includes('%00')) return done(errors.PARLEY_ERR_HTTP_NUL({ where: 'URL' }))
      done()
    })
    app.addHook('onResponse', (request, reply, done) => {
      // Built only when it is written: at `warn` the unwritten line was 0.5-0.9% of the CPU of a
      // data-plane call (bench/NOTES.md, "Later: what each request still paid for").
      if (!QUIET_LEVELS.has(request.log.level)) {
        const ms = Number(process.hrtime.bigint() - (request.parley?.startedAt ?? process.hrtime.bigint())) / 1e6
        request.log.info(
          { method: request.method, path: pathOf(request.url), status: reply.statusCode, ms: Math.round(ms * 10) / 10 },
          'request completed',
        )
      }
      done()
    })
    ready()
  },
  { name: 'parley-request-context', fastify: '5.x' },
)

/** Log levels at which the `info` line of each request is not written. */
const QUIET_LEVELS: ReadonlySet<string> = new Set(['warn', 'error', 'fatal', 'silent'])

/** Random bytes for trace ids, drawn from OpenSSL a batch at a time rather than once per request. */
const TRACE_POOL = Buffer.alloc(16 * 256)
let tracePoolAt = TRACE_POOL.length

/**
 * 32 random hex digits: one string, cut from a pool refilled every 256 ids (the dashes of a
 * `randomUUID()` cost five slices and four joins per request). All zeros means "absent" to W3C
 * Trace Context, so that one value is drawn again.
 */
function newTraceId(): string {
  if (tracePoolAt === TRACE_POOL.length) {
    randomFillSync(TRACE_POOL)
    tracePoolAt = 0
  }
  const id = TRACE_POOL.toString('hex', tracePoolAt, (tracePoolAt += 16))
  return id === NO_TRACE ? newTraceId() : id
}

const NO_TRACE = '0'.repeat(32)

/** The path without its query string: queries may carry things that must not be logged. */
export function pathOf(url: string): string {
  const index = url.indexOf('?')
  return index === -1 ? url : url.slice(0, index)
}
