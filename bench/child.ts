/**
 * The child's half of the protocol between the runner and each server it starts: say where
 * the server listens, profile the CPU on request (V8's sampling profiler through the inspector,
 * the one `node --cpu-prof` uses, but only around a measurement, not start-up), and close
 * cleanly when told.
 */
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector'

/** Child to runner. */
export type ServerMessage = { readonly type: 'ready'; readonly url: string } | { readonly type: 'profiling' } | { readonly type: 'profiled'; readonly file: string } | { readonly type: 'failed'; readonly message: string }

/** Runner to child. */
export type RunnerMessage = { readonly type: 'stop' } | { readonly type: 'profile-start' } | { readonly type: 'profile-stop'; readonly file: string }

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

async function profile(message: Extract<RunnerMessage, { type: 'profile-start' | 'profile-stop' }>): Promise<ServerMessage> {
  if (message.type === 'profile-start') {
    session ??= new Session()
    session.connect()
    await post('Profiler.enable')
    await post('Profiler.start')
    return { type: 'profiling' }
  }
  const { profile: data } = (await post('Profiler.stop')) as { profile: unknown }
  session?.disconnect()
  session = undefined
  writeFileSync(message.file, JSON.stringify(data))
  return { type: 'profiled', file: message.file }
}

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
