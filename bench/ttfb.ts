/**
 * Time to first byte: how soon a target starts its answer, apart from how long the rest of it
 * takes. One request at a time on one keep-alive connection (`node:http`), each timed with
 * `process.hrtime.bigint()` from handing the request to the socket to the first data of the
 * answer's body after its headers: for JSON the first body chunk, for SSE the chunk that
 * completes the first event (`\n\n`). The first requests warm the new connection up and are
 * not counted. Cheap on purpose (about a second per target and format), so it can follow every
 * c=1 cell of the bench.
 */
import http from 'node:http'
import type { Format } from './report.js'
import { percentile } from './load.js'

export interface TtfbOptions {
  readonly url: string
  readonly headers: Record<string, string>
  readonly body: string
  readonly format: Format
  /** Requests sent first on the probe's connection, not counted. */
  readonly warmup: number
  /** Requests timed. */
  readonly requests: number
}

export interface Ttfb {
  /** Milliseconds. */
  readonly p50Ms: number
  readonly p99Ms: number
  readonly requests: number
  /** Cores other programs used during the probe (Linux only): above a tenth, the figures are skewed. */
  readonly otherCores?: number | undefined
}

/** Sends one request and answers its time to first byte, in ms; rejects on anything but a 200 with a body. */
function timeOne(options: TtfbOptions, agent: http.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    let first: number | undefined
    let seen = ''
    const request = http.request(
      options.url,
      {
        method: 'POST',
        agent,
        headers: { ...options.headers, 'content-length': String(Buffer.byteLength(options.body)) },
      },
      response => {
        response.on('error', reject)
        if (response.statusCode !== 200) {
          response.resume()
          reject(new Error(`${options.url} (${options.format}): HTTP ${response.statusCode} during the TTFB probe`))
          return
        }
        response.on('data', (chunk: Buffer) => {
          if (first !== undefined) return
          if (options.format === 'sse') {
            seen += chunk.toString('latin1')
            if (!seen.includes('\n\n')) return
          }
          first = Number(process.hrtime.bigint() - started) / 1e6
        })
        response.on('end', () =>
          first === undefined ? reject(new Error(`${options.url}: an answer without a body`)) : resolve(first),
        )
      },
    )
    request.on('error', reject)
    const started = process.hrtime.bigint()
    request.end(options.body)
  })
}

/** `warmup` requests, then `requests` timed ones, one at a time on one connection. */
export async function probeTtfb(options: TtfbOptions): Promise<Ttfb> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  try {
    for (let i = 0; i < options.warmup; i++) await timeOne(options, agent)
    const times = new Float64Array(options.requests)
    for (let i = 0; i < options.requests; i++) times[i] = await timeOne(options, agent)
    times.sort()
    return { p50Ms: percentile(times, 50), p99Ms: percentile(times, 99), requests: options.requests }
  } finally {
    agent.destroy()
  }
}
