/**
 * The child's half of the protocol between the runner and each server it starts: say where
 * the server listens, and close it cleanly when told, so a `--cpu-prof` profile gets written.
 */

export interface ServerMessage {
  readonly type: 'ready'
  readonly url: string
}

/** Tells the runner the server is listening at `url`. */
export function announce(url: string): void {
  const message: ServerMessage = { type: 'ready', url }
  process.send?.(message)
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
  process.on('message', message => {
    if (message === 'stop') stop()
  })
  // The runner going away closes the IPC channel: never outlive it.
  process.on('disconnect', stop)
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}
