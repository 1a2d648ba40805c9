/**
 * The child's half of the protocol between the runner and each server it starts: say where
 * the server listens, profile the CPU on request (V8's sampling profiler through the inspector,
 * the one `node --cpu-prof` uses, but only around a measurement, not start-up), and close
 * cleanly when told.
 */
import diagnostics from 'node:diagnostics_channel'
import { writeFileSync } from 'node:fs'
import type { IncomingMessage } from 'node:http'
import { Session } from 'node:inspector'
import { performance, PerformanceObserver } from 'node:perf_hooks'
import { startHeap, stopHeap, type HeapFigures, type HeapOptions } from './heap.js'

/** Child to runner. */
export type ServerMessage =
  | { readonly type: 'ready'; readonly url: string }
  | { readonly type: 'profiling' }
  | { readonly type: 'profiled'; readonly file: string }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'heap-counting' }
  | { readonly type: 'heap'; readonly figures: HeapFigures }

/** Runner to child. */
export type RunnerMessage =
  | { readonly type: 'stop' }
  | { readonly type: 'profile-start' }
  | { readonly type: 'profile-stop'; readonly file: string }
  | { readonly type: 'heap-start'; readonly options: HeapOptions }
  | { readonly type: 'heap-stop' }

function tell(message: ServerMessage): void {
  process.send?.(message)
}

/** Tells the runner the server is listening at `url`. */
export function announce(url: string): void {
  tell({ type: 'ready', url })
}

let session: Session | undefined

function post(method: string, params?: object): Promise<unknown> {
  return new Promise((resolve, reject) => {
    ;(session as Session).post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result)))
  })
}

async function profile(message: Exclude<RunnerMessage, { type: 'stop' }>): Promise<ServerMessage> {
  if (message.type === 'heap-start') return startHeap(message.options).then(() => ({ type: 'heap-counting' }))
  if (message.type === 'heap-stop') return { type: 'heap', figures: await stopHeap() }
  if (message.type === 'profile-start') {
    session ??= new Session()
    session.connect()
    await post('Profiler.enable')
    // V8's default is one sample per millisecond; BENCH_PROFILE_INTERVAL_US asks for more.
    const interval = Number(process.env.BENCH_PROFILE_INTERVAL_US)
    if (interval > 0) await post('Profiler.setSamplingInterval', { interval })
    await post('Profiler.start')
    return { type: 'profiling' }
  }
  const { profile: data } = (await post('Profiler.stop')) as { profile: unknown }
  session?.disconnect()
  session = undefined
  writeFileSync(message.file, JSON.stringify(data))
  return { type: 'profiled', file: message.file }
}

/** What `BENCH_TAIL_FILE` collects: epoch milliseconds, durations in milliseconds. */
export interface TailRecord {
  /** Garbage collections: start, duration, kind (1 young, 4 full, 8 incremental, 16 weak callbacks). */
  readonly gc: Array<[number, number, number]>
  /** HTTP requests as the server saw them: from its headers parsed to the answer's last byte. */
  readonly requests: Array<[number, number]>
}

/**
 * With `BENCH_TAIL_FILE` set (by bench/tail.ts), records this process's collections and its
 * requests' server-side times, written to that file when the process exits.
 */
function recordTail(file: string): void {
  const tail: TailRecord = { gc: [], requests: [] }
  const epoch = (at: number) => performance.timeOrigin + at
  new PerformanceObserver(list => {
    for (const entry of list.getEntries())
      tail.gc.push([
        epoch(entry.startTime),
        entry.duration,
        (entry as { detail?: { kind?: number } }).detail?.kind ?? 0,
      ])
  }).observe({ entryTypes: ['gc'] })
  const started = new WeakMap<IncomingMessage, number>()
  diagnostics.subscribe('http.server.request.start', message =>
    started.set((message as { request: IncomingMessage }).request, performance.now()),
  )
  diagnostics.subscribe('http.server.response.finish', message => {
    const at = started.get((message as { request: IncomingMessage }).request)
    if (at !== undefined) tail.requests.push([epoch(at), performance.now() - at])
  })
  process.on('exit', () => writeFileSync(file, JSON.stringify(tail)))
}

if (process.env.BENCH_TAIL_FILE) recordTail(process.env.BENCH_TAIL_FILE)

/** Runs `close` once when the runner says `stop` (or on SIGTERM/SIGINT), then exits. */
export function onStop(close: () => Promise<void>): void {
  let closing = false
  const stop = () => {
    if (closing) return
    closing = true
    close()
      .catch(error => console.error(error))
      .finally(() => process.exit(0))
  }
  process.on('message', (message: RunnerMessage) => {
    if (message.type === 'stop') stop()
    else profile(message).then(tell, (error: Error) => tell({ type: 'failed', message: error.message }))
  })
  // The runner going away closes the IPC channel: never outlive it.
  process.on('disconnect', stop)
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}
