import { timingSafeEqual } from 'node:crypto'
import { BlockList, isIP } from 'node:net'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { collectDefaultMetrics, Registry } from 'prom-client'
import { RequestMetrics } from './counted-series.js'
import { errors } from '../errors.js'

/** A registry per gateway (never prom-client's global one), so test gateways stay independent. */
export function createMetricsRegistry(): Registry {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'parley_' })
  return registry
}

/** Request counters and latency by route template (never the raw URL: unbounded labels). */
export interface HttpMetricsOptions {
  readonly registry: Registry
  readonly token?: string | undefined
  readonly allow?: readonly string[] | undefined
}

export const httpMetrics = fp(
  function httpMetrics(app: FastifyInstance, options: HttpMetricsOptions, ready: () => void) {
    const { registry } = options
    const metrics = new RequestMetrics(registry, {
      requests: { name: 'parley_http_requests_total', help: 'HTTP requests by method, route and status code' },
      duration: {
        name: 'parley_http_request_duration_seconds',
        help: 'Time from request arrival to response end',
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      },
    })
    app.addHook('onResponse', (request, reply, done) => {
      const started = request.parley?.startedAt
      metrics.record(
        request.method,
        request.routeOptions.url ?? 'unmatched',
        reply.statusCode,
        started === undefined ? undefined : Number(process.hrtime.bigint() - started) / 1e9,
      )
      done()
    })

    const expected = options.token ? Buffer.from(`Bearer ${options.token}`) : undefined
    const trusted = addressList(options.allow)
    app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
      if (!trusted.check(request.ip, isIP(request.ip) === 6 ? 'ipv6' : 'ipv4')) {
        if (!expected) throw errors.PARLEY_ERR_HTTP_METRICS_FORBIDDEN()
        const given = Buffer.from(request.headers.authorization ?? '')
        if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
          throw errors.PARLEY_ERR_HTTP_METRICS_TOKEN()
        }
      }
      return reply.type(registry.contentType).send(await registry.metrics())
    })
    ready()
  },
  { name: 'parley-http-metrics', fastify: '5.x', dependencies: ['parley-request-context'] },
)

/** `server.metrics.allow` (addresses and CIDRs, validated by loadConfig) as Node's BlockList. */
function addressList(entries: readonly string[] = []): BlockList {
  const list = new BlockList()
  for (const entry of entries) {
    const [address = '', bits] = entry.split('/')
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4'
    if (bits === undefined) list.addAddress(address, family)
    else list.addSubnet(address, Number(bits), family)
  }
  return list
}
