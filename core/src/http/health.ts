import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { redactCredentials } from '../redact.js'

/** A dependency /readyz checks: the database, Redis, object storage, ... */
export interface HealthCheck {
  /** Rejects (or times out) when the dependency cannot serve. */
  check(): Promise<void>
  /**
   * Whether a failure makes the instance unready (503). Default true; a dependency the gateway
   * can degrade without (Redis) is reported with `critical: false` and answers 200 "degraded".
   */
  readonly critical?: boolean
}

export type Lifecycle = 'starting' | 'running' | 'stopping' | 'stopped'

const CHECK_TIMEOUT_MS = 2000

const CheckResult = Type.Object({ ok: Type.Boolean(), ms: Type.Number(), error: Type.Optional(Type.String()) })

/**
 * /healthz answers while the process lives (liveness). /readyz answers 200 only when the
 * gateway is running and every dependency answers (readiness): a load balancer stops sending
 * traffic to an instance that is draining or has lost its database.
 */
export interface HealthOptions {
  readonly state: () => Lifecycle
  readonly checks: () => ReadonlyArray<{ key: string; item: HealthCheck }>
}

export const health = fp(
  function health(app: FastifyInstance, { state, checks }: HealthOptions, ready: () => void) {
    app.get(
      '/healthz',
      {
        schema: {
          tags: ['system'],
          summary: 'Liveness',
          response: { 200: Type.Object({ status: Type.Literal('ok') }) },
        },
      },
      async () => ({ status: 'ok' as const }),
    )
    app.get(
      '/readyz',
      {
        schema: {
          tags: ['system'],
          summary: 'Readiness: database, Redis and other dependencies',
          response: {
            '2xx': Type.Object({ status: Type.String(), checks: Type.Record(Type.String(), CheckResult) }),
            503: Type.Object({ status: Type.String(), checks: Type.Record(Type.String(), CheckResult) }),
          },
        },
      },
      async (_request, reply) => {
        const lifecycle = state()
        const results: Record<string, { ok: boolean; ms: number; error?: string }> = {}
        let critical = true
        let all = true
        if (lifecycle === 'running') {
          await Promise.all(
            checks().map(async ({ key, item }) => {
              const result = await runCheck(item)
              results[key] = result
              if (!result.ok) {
                all = false
                if (item.critical !== false) critical = false
              }
            }),
          )
        }
        const ready = lifecycle === 'running' && critical
        const status = lifecycle !== 'running' ? lifecycle : !critical ? 'unavailable' : all ? 'ready' : 'degraded'
        return reply.code(ready ? 200 : 503).send({ status, checks: results })
      },
    )
    ready()
  },
  { name: 'parley-health', fastify: '5.x', dependencies: ['parley-error-envelope'] },
)

async function runCheck(check: HealthCheck): Promise<{ ok: boolean; ms: number; error?: string }> {
  const started = performance.now()
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      check.check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS)
      }),
    ])
    return { ok: true, ms: Math.round(performance.now() - started) }
  } catch (error) {
    const message = redactCredentials((error as Error).message?.split('\n')[0] ?? 'failed')
    return { ok: false, ms: Math.round(performance.now() - started), error: message }
  } finally {
    clearTimeout(timer)
  }
}
