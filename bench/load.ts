/**
 * The load generator: autocannon at a fixed concurrency for a fixed time, after a warm-up whose
 * results are thrown away. Latencies are collected from autocannon's per-response event rather
 * than its histogram, which records whole milliseconds and so cannot resolve sub-millisecond
 * differences at concurrency 1. A latency is the time from sending the request to the last
 * byte of the answer (the whole stream, for SSE).
 */
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

function fire(options: LoadOptions, durationS: number, onLatency?: (status: number, ms: number) => void): Promise<autocannon.Result> {
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
    if (onLatency) instance.on('response', (_client, status, _bytes, ms) => onLatency(status, ms))
  })
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number
}

/** Load whose results are thrown away: JIT, connection pools and caches settle first. */
export async function warmUp(options: LoadOptions): Promise<void> {
  if (options.warmupS > 0) await fire(options, options.warmupS)
}

export async function measure(options: LoadOptions): Promise<Measurement> {
  let latencies = new Float64Array(1 << 16)
  let ok = 0
  const result = await fire(options, options.durationS, (status, ms) => {
    if (status < 200 || status >= 300) return
    if (ok === latencies.length) {
      const grown = new Float64Array(latencies.length * 2)
      grown.set(latencies)
      latencies = grown
    }
    latencies[ok++] = ms
  })
  const sorted = latencies.subarray(0, ok).sort()
  let sum = 0
  for (const ms of sorted) sum += ms
  return {
    requestsPerSec: ok / result.duration,
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
    durationS: result.duration,
  }
}
