import { Writable } from 'node:stream'
import { createLogger } from '../log.js'
import type { Logger } from '../logger.js'

export interface CapturedLogs {
  /** The gateway's real logger (same redaction), at `debug` unless told otherwise. */
  readonly logger: Logger
  /** Every JSON line written so far, as text. */
  readonly lines: readonly string[]
  /** The lines that contain `text` anywhere (a key, a password...). */
  containing(text: string): string[]
}

/**
 * A logger that keeps its lines, to assert what a gateway logs — and above all what it never
 * logs (keys, tokens, passwords).
 *
 * @example
 * const logs = captureLogs()
 * const gateway = await createTestGateway({ logger: logs.logger })
 * // ...
 * t.same(logs.containing('sk-secret'), [])
 */
export function captureLogs(level = 'debug'): CapturedLogs {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean))
      done()
    },
  })
  return {
    logger: createLogger({ log: { level: level as never } }, stream),
    lines,
    containing: text => lines.filter(line => line.includes(text)),
  }
}
