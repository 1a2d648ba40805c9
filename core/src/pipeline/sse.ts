/**
 * Server-sent events as OpenAI-compatible upstreams send them, read on the side of a
 * passthrough: the bytes go to the client unchanged (except what the format does not send, or
 * a frame the client did not ask for), while usage and the streamed text are picked up for the
 * usage row. What is particular to a wire format (its taps) is in formats/.
 */

import { errors } from '../errors.js'

/**
 * The largest event (or unterminated line) accepted from an upstream, in bytes: past it the
 * splitter throws PARLEY_ERR_UPSTREAM_EVENT_TOO_LARGE and drops what it held, so one event
 * can neither fill the memory nor stall the event loop (security finding #1: a 32 MB event
 * took 490 MB and 3.9 s). OpenAI's biggest events repeat a whole answer (`response.completed`,
 * `response.output_text.done`): a 128k-token answer is about 0.5 MB, so 4 MiB leaves room.
 */
export const SSE_EVENT_LIMIT = 4 * 1024 * 1024

/** One event: its text as received (blank-line terminator included), its `event:` name and its data. */
export interface SseEvent {
  readonly raw: string
  readonly name: string | undefined
  readonly data: string
  /** It has `id:` or `retry:` lines, which would change the client's reconnection state. */
  readonly extra: boolean
  /** It is only comments (`: keep-alive`). */
  readonly comment: boolean
}

/**
 * Splits a byte stream into whole events, whatever the chunking and line endings (`\n`,
 * `\r\n`, `\r`). A multi-byte character cut between chunks is decoded once whole. An event
 * longer than `maxEventBytes` (`SSE_EVENT_LIMIT` by default) makes `push` throw
 * PARLEY_ERR_UPSTREAM_EVENT_TOO_LARGE (a ParleyError): the stream is then unusable.
 */
export class SseSplitter {
  /** The start of an event whose end has not come yet, in the pieces it came in (joined once it ends). */
  readonly #held: string[] = []
  /** Its size in bytes, as received. */
  #heldBytes = 0
  /** Its last 3 characters: a terminator that ends in the next chunk may begin there. */
  #tail = ''
  readonly #decoder = new TextDecoder()
  readonly #limit: number
  /** The previous chunk ended on an event boundary, with no partial character held back. */
  #clean = true
  #aligned = false

  constructor(options: { readonly maxEventBytes?: number } = {}) {
    this.#limit = options.maxEventBytes ?? SSE_EVENT_LIMIT
  }

  push(chunk: Uint8Array): SseEvent[] {
    const startedClean = this.#clean
    let text = this.#decoder.decode(chunk, { stream: true })
    if (this.#held.length > 0) {
      // Inside a long event, each chunk is searched on its own (not the whole event again).
      if (eventEnd(this.#tail + text, 0) < 0) {
        this.#hold(text, chunk.length)
        this.#clean = false
        this.#aligned = false
        return []
      }
      this.#held.push(text)
      text = this.#held.join('')
      this.#release()
    }
    const events: SseEvent[] = []
    let start = 0
    for (;;) {
      const end = eventEnd(text, start)
      if (end < 0) break
      const raw = start === 0 && end === text.length ? text : text.slice(start, end)
      if (this.#tooLarge(raw)) this.#overflow()
      events.push(parseEvent(raw))
      start = end
    }
    if (start < text.length) this.#hold(start === 0 ? text : text.slice(start), -1)
    // An ASCII last byte (the terminator's) means the decoder holds nothing back.
    this.#clean = this.#held.length === 0 && (chunk.length === 0 || (chunk[chunk.length - 1] as number) < 0x80)
    this.#aligned = startedClean && this.#clean
    return events
  }

  /**
   * The last chunk pushed held exactly the events it returned, from the start of the first to
   * the end of the last: forwarding its bytes unchanged equals forwarding those events' text.
   */
  get aligned(): boolean {
    return this.#aligned
  }

  /**
   * Nothing is held back: the stream so far ended on an event boundary. A chunk that then ends
   * with a blank line (`wholeEvents`) holds whole events only, and may bypass `push`
   * (`relayWholeEvents`): the splitter's state is the same either way.
   */
  get idle(): boolean {
    return this.#clean
  }

  /** What is left after the stream ended: an event without its blank line, if any. */
  rest(): SseEvent | undefined {
    const text = this.#held.join('') + this.#decoder.decode()
    this.#release()
    if (this.#tooLarge(text)) this.#overflow()
    return text.trim() === '' ? undefined : parseEvent(text)
  }

  /** Keeps the start of an unfinished event (`bytes` of it; -1: measure); past the limit, throws. */
  #hold(text: string, bytes: number): void {
    this.#held.push(text)
    this.#heldBytes += bytes < 0 ? Buffer.byteLength(text) : bytes
    this.#tail = text.length >= 3 ? text.slice(-3) : (this.#tail + text).slice(-3)
    if (this.#heldBytes > this.#limit) this.#overflow()
  }

  #release(): void {
    this.#held.length = 0
    this.#heldBytes = 0
    this.#tail = ''
  }

  /** Whether `text` is over the limit in UTF-8 bytes (measured only when it might be). */
  #tooLarge(text: string): boolean {
    const length = text.length
    return length > this.#limit || (length * 3 > this.#limit && Buffer.byteLength(text) > this.#limit)
  }

  #overflow(): never {
    this.#release()
    throw errors.PARLEY_ERR_UPSTREAM_EVENT_TOO_LARGE({ limit: this.#limit })
  }
}

/** Whether a chunk ends with `\n\n`: the end of an event, with no character cut in two. */
export function wholeEvents(chunk: Uint8Array): boolean {
  const length = chunk.length
  return length >= 2 && chunk[length - 1] === 10 && chunk[length - 2] === 10
}

/** A Buffer view of a chunk (no copy), for native byte searches. */
export function bytesOf(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
}

const TERMINATOR = /\r\n\r\n|\n\n|\r\r|\r\n\n|\n\r\n/g

/** Index just past the first event terminator (a blank line) at or after `from`, or -1. */
function eventEnd(text: string, from: number): number {
  TERMINATOR.lastIndex = from
  const match = TERMINATOR.exec(text)
  return match ? match.index + match[0].length : -1
}

function parseEvent(raw: string): SseEvent {
  // The shape OpenAI-compatible upstreams send nearly always: one `data: ` line, then a blank line.
  const end = raw.length - 2
  if (
    raw.startsWith('data: ') &&
    raw.indexOf('\n', 6) === end &&
    raw.charCodeAt(end + 1) === 10 &&
    raw.indexOf('\r') === -1
  ) {
    return { raw, name: undefined, data: raw.slice(6, end), extra: false, comment: false }
  }
  let name: string | undefined
  const data: string[] = []
  let extra = false
  let fields = 0
  for (const line of raw.split(/\r\n|\r|\n/)) {
    if (line === '' || line.startsWith(':')) continue
    fields++
    if (line.startsWith('data:')) data.push(line.slice(line.charAt(5) === ' ' ? 6 : 5))
    else if (line.startsWith('event:')) name = line.slice(line.charAt(6) === ' ' ? 7 : 6).trim()
    else if (line.startsWith('id:') || line.startsWith('retry:') || line === 'id' || line === 'retry') extra = true
  }
  return { raw, name, data: data.join('\n'), extra, comment: fields === 0 }
}
