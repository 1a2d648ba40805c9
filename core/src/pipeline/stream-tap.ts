import { bytesOf, SseSplitter, type SseEvent } from './sse.js'

/*
 * Watching a relayed stream on the side: a wire format's tap (formats/) reads usage, errors and
 * the end, and decides what goes on to the client; the relay's fast path lets whole events of
 * the format through undecoded, reading only those the tap must see.
 */

export interface TokenUsage {
  readonly promptTokens: number
  readonly completionTokens: number
}

/** What a tap learned from a stream by its end. */
export interface TapResult {
  /** From the upstream; undefined when it sent none (the pipeline estimates). */
  readonly usage: TokenUsage | undefined
  /**
   * The streamed output text (answer, reasoning, tool arguments), for estimating when usage is
   * missing: of the first `RAW_KEPT` bytes of the stream only (chat completions: '' when usage came).
   */
  readonly outputText: string
  /** Characters of output text estimated in the rest of the stream, past `RAW_KEPT` bytes. */
  readonly unseenChars: number
  /** The upstream reported an error inside the stream. */
  readonly error: { readonly message: string; readonly code?: string } | undefined
  /** The stream ended the way the format ends (`[DONE]`, `response.completed`, ...). */
  readonly complete: boolean
}

/** Watches one passthrough stream. `forward` returns whether an event goes on to the client. */
export interface StreamTap {
  /** Whether the event goes on to the client (false: the format does not send it, or it came after the end). */
  forward(event: SseEvent): boolean
  /**
   * The format's last event went by: nothing after it reaches the client. The taps make it a
   * plain property: as a getter of an object literal it made every tap (with the stream text
   * it keeps) survive young collections into the old generation, about 0.5 KB per streamed
   * call, and full collections every few thousand calls (bench/NOTES.md, "A third link").
   */
  readonly ended: boolean
  /**
   * Whether a chunk of whole events holds only what the format sends (`wellFormed`), so it may
   * take the fast path without being decoded; otherwise each event goes through `forward`.
   * `text` is the chunk read as latin1 (`latin1Of`): one character per byte.
   */
  plain(text: string): boolean
  /**
   * Finds the bytes that are in every event the tap must read (usage, an error, the end): a
   * global pattern of the format (`markerPattern`). An event with none of them goes on
   * unchanged and undecoded (see `relayWholeEvents`), and the tap only gets its bytes through
   * `skip`, to read later if `result()` needs the text.
   */
  readonly markers: RegExp
  skip(bytes: Uint8Array): void
  result(): TapResult
}

/*
 * The fast path searches each chunk as a latin1 string (one character per byte, so an index in
 * it is an index in the bytes) with regular expressions: one pass each. The first version made
 * a native `Buffer.indexOf` call per pattern and per line (about 18 scans of a 4 KB chunk of 26
 * events), 13.6% of Parley's CPU per streamed call; on such a chunk the two passes take 2 µs
 * where those searches took 30 (bench/NOTES.md, "Later: byte searches").
 */

/** The chunk's bytes as a latin1 string: a copy, but searched by V8 without a native call per pattern. */
export function latin1Of(chunk: Uint8Array): string {
  return bytesOf(chunk).toString('latin1')
}

/** A line that no OpenAI format sends: data that is not a JSON object or `[DONE]`, an `id:` or `retry:` field. */
const FOREIGN_LINE = /^(?:data:(?!\{| \{|\[DONE\]| \[DONE\])|id:|retry:)/m
/** An `event:` line, its name captured. */
const EVENT_LINE = /^event: ?([^\r\n]*)/gm

/**
 * Whether a chunk of whole events (`text`, from `latin1Of`) holds only what an OpenAI format
 * sends: `data:` lines whose text is a JSON object or `[DONE]`, `event:` names the format has
 * (`names`), no `id:` or `retry:` line. A chunk that fails is decoded event by event, where
 * the format's tap drops what does not belong.
 */
export function wellFormed(text: string, names: (name: string) => boolean): boolean {
  if (FOREIGN_LINE.test(text)) return false
  EVENT_LINE.lastIndex = 0
  for (let line = EVENT_LINE.exec(text); line; line = EVENT_LINE.exec(text))
    if (!names((line[1] as string).trim())) return false
  return true
}

/** A format's markers (`StreamTap.markers`) as one global pattern: any of the texts, literally. */
export function markerPattern(texts: readonly string[]): RegExp {
  return new RegExp(texts.map(text => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g')
}

/** Where the first of `markers` is in `text` from `from` on, or -1. */
function firstMarker(text: string, markers: RegExp, from: number): number {
  markers.lastIndex = from
  return markers.exec(text)?.index ?? -1
}

/**
 * The relay's common path, for a chunk of whole events (`SseSplitter.idle` and `wholeEvents`):
 * a byte search finds the few events the tap must read; only those are decoded and given to
 * `forward`, the rest pass to `skip` as bytes. `splitter` is the stream's (idle) splitter.
 * Answers the bytes to send on: the chunk itself unless `forward` dropped an event, then the
 * chunk without it.
 */
export function relayWholeEvents(
  chunk: Uint8Array,
  tap: StreamTap,
  splitter: SseSplitter,
  text: string = latin1Of(chunk),
): Uint8Array {
  const bytes = bytesOf(chunk)
  let kept: Buffer[] | undefined
  let cursor = 0
  for (;;) {
    const hit = firstMarker(text, tap.markers, cursor)
    if (hit < 0) break
    // The events around the hit: from the blank line before it (or the read position) to the
    // blank line after it. A line holds no line break, so both lie outside every data line.
    const before = text.lastIndexOf('\n\n', hit)
    const start = before < cursor ? cursor : before + 2
    const end = text.indexOf('\n\n', hit) + 2
    if (start > cursor) {
      tap.skip(bytes.subarray(cursor, start))
      kept?.push(bytes.subarray(cursor, start))
    }
    // The stream's own splitter: idle, and idle again after a run of whole events.
    const events = splitter.push(bytes.subarray(start, end))
    events.forEach((event, index) => {
      if (tap.forward(event)) kept?.push(Buffer.from(event.raw))
      else if (!kept) {
        // The first event dropped: what came before it is kept, as it was.
        kept = [bytes.subarray(0, start), ...events.slice(0, index).map(earlier => Buffer.from(earlier.raw))]
      }
    })
    cursor = end
    // The format's end went by: whatever follows in this chunk is dropped.
    if (tap.ended) return kept ? Buffer.concat(kept) : bytes.subarray(0, end)
  }
  if (cursor < bytes.length) {
    tap.skip(bytes.subarray(cursor))
    kept?.push(bytes.subarray(cursor))
  }
  return kept ? Buffer.concat(kept) : chunk
}

/** A tap's record of the stream's text, in order: data of events it read, or bytes it let pass unread. */
type Seen = Array<string | Uint8Array>

/**
 * How much of a stream a tap keeps for an estimate (usage missing), in raw bytes. Past it,
 * only the size of the rest is counted, and its text is taken to be as long, per raw byte, as
 * the kept part's (docs/data-plane.md#usage-and-estimates): a stream's memory is bounded, and
 * reading the kept part takes a ms or two. About 1,000 tokens of OpenAI chunks.
 */
export const RAW_KEPT = 256 * 1024

/** The start of a stream as a tap saw it (`Seen`), and the size of what came after. */
export class Kept {
  readonly seen: Seen = []
  #size = 0
  #dropped = 0

  /** `size`: the item's share of the raw stream (an event's data stands for the whole event). */
  add(item: string | Uint8Array, size = item.length): void {
    if (this.#size >= RAW_KEPT) {
      this.#dropped += size
      return
    }
    if (item.length > 0) this.seen.push(typeof item === 'string' ? item : detached(item))
    this.#size += size
  }

  /** Characters of text in what was not kept, at the kept part's text per raw byte. */
  unseen(keptText: number): number {
    return this.#dropped === 0 || this.#size === 0 ? 0 : Math.round((this.#dropped * keptText) / this.#size)
  }
}

/** Bytes to keep: a small view into a large chunk is copied, or it would keep all of the chunk alive. */
function detached(bytes: Uint8Array): Uint8Array {
  return bytes.byteLength * 2 < bytes.buffer.byteLength && bytes.buffer.byteLength > 16 * 1024
    ? Buffer.from(bytes)
    : bytes
}

/** The data of every event in `seen`, in order, bytes that passed unread split only now. */
export function dataOf(seen: Seen, keep: (event: SseEvent) => boolean = () => true): string[] {
  const out: string[] = []
  for (const item of seen) {
    if (typeof item === 'string') out.push(item)
    else for (const event of new SseSplitter().push(item)) if (keep(event)) out.push(event.data)
  }
  return out
}

/** An error object of an upstream's event, as the usage row and the log read it. */
export function errorOf(value: unknown): { message: string; code?: string } {
  const record = value as { message?: unknown; code?: unknown }
  const message = typeof record.message === 'string' ? record.message : 'the upstream reported an error'
  return typeof record.code === 'string' ? { message, code: record.code } : { message }
}

export function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : []
}
