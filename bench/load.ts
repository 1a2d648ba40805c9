/**
 * The load generator: autocannon at a fixed concurrency for a fixed time. The warm-up is the
 * first seconds of the same run, on the same connections, and its answers are not counted: a
 * new connection makes V8 throw away code it had optimised for the previous one (a socket of
 * a new shape: "wrong map" deoptimisations in Node's streams and in the target's own code),
 * and the target needs one to three seconds of load to optimise it again. Warming up on other
 * connections would leave that inside the measurement.
 *
 * Latencies are collected from autocannon's per-response event rather than its histogram,
 * which records whole milliseconds and so cannot resolve sub-millisecond differences at
 * concurrency 1. A latency is the time from sending the request to the last byte of the
 * answer (the whole stream, for SSE).
 */
import { performance } from 'node:perf_hooks'
import autocannon from 'autocannon'

export interface LoadOptions {
  readonly url: string
  readonly headers: Record<string, string>
  readonly body: string
  readonly connections: number
  readonly durationS: number
  readonly warmupS: number
}

export interface Measurement {
  readonly requestsPerSec: number
  /** Milliseconds, from the 2xx answers only. */
  readonly p50Ms: number
  readonly p90Ms: number
  readonly p99Ms: number
  readonly p999Ms: number
  readonly maxMs: number
  readonly meanMs: number
  readonly ok: number
  /** Answers with another status; any of them makes the cell invalid. */
  readonly non2xx: number
  readonly errors: number
  readonly timeouts: number
  readonly durationS: number
}

function fire(
  options: LoadOptions,
  durationS: number,
  onResponse: (status: number, ms: number) => void,
): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        method: 'POST',
        headers: options.headers,
        body: options.body,
        connections: options.connections,
        pipelining: 1,
        duration: durationS,
        timeout: 30,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    )
    instance.on('response', (_client, status, _bytes, ms) => onResponse(status, ms))
  })
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number
}

/**
 * One run of `warmupS + durationS` seconds; only the answers after the warm-up count. `measuring`
 * is called when the warm-up ends (to sample CPU or start a profiler); the caller takes its
 * closing samples when this resolves. Non-2xx answers, errors and timeouts of the whole run count.
 */
export async function measure(
  options: LoadOptions,
  measuring: () => Promise<void> | void = () => undefined,
): Promise<Measurement> {
  let latencies = new Float64Array(1 << 16)
  let ok = 0
  let counting = false
  let startedAt = performance.now()
  let failed: { error: unknown } | undefined
  const start = async () => {
    try {
      await measuring()
    } catch (error) {
      failed = { error }
    }
    startedAt = performance.now()
    counting = true
  }
  const warm = options.warmupS > 0 ? setTimeout(() => void start(), options.warmupS * 1000) : undefined
  if (!warm) await start()
  const result = await fire(options, options.warmupS + options.durationS, (status, ms) => {
    if (!counting || status < 200 || status >= 300) return
    if (ok === latencies.length) {
      const grown = new Float64Array(latencies.length * 2)
      grown.set(latencies)
      latencies = grown
    }
    latencies[ok++] = ms
  }).finally(() => clearTimeout(warm))
  if (failed) throw failed.error
  const measuredS = (performance.now() - startedAt) / 1000
  const sorted = latencies.subarray(0, ok).sort()
  let sum = 0
  for (const ms of sorted) sum += ms
  return {
    requestsPerSec: ok / measuredS,
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    p999Ms: percentile(sorted, 99.9),
    maxMs: percentile(sorted, 100),
    meanMs: ok === 0 ? Number.NaN : sum / ok,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    durationS: measuredS,
  }
}
