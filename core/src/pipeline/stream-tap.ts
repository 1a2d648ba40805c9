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
   */
  plain(bytes: Buffer): boolean
  /**
   * Bytes found in every event the tap must read (usage, an error, the end). An event with
   * none of them goes on unchanged and undecoded (see `relayWholeEvents`), and the tap only
   * gets its bytes through `skip`, to read later if `result()` needs the text.
   */
  readonly markers: readonly Buffer[]
  skip(bytes: Uint8Array): void
  result(): TapResult
}

const BLANK_LINE = Buffer.from('\n\n')
const DATA = Buffer.from('data:')
const EVENT = Buffer.from('event:')
const ID = Buffer.from('id:')
const RETRY = Buffer.from('retry:')

/**
 * Whether a chunk of whole events holds only what an OpenAI format sends: `data:` lines whose
 * text is a JSON object or `[DONE]`, `event:` names the format has (`names`), no `id:` or
 * `retry:` line. A few native byte searches per chunk; a chunk that fails is decoded event by
 * event, where the format's tap drops what does not belong.
 */
export function wellFormed(bytes: Buffer, names: (name: string) => boolean): boolean {
  for (let at = bytes.indexOf(DATA); at >= 0; at = bytes.indexOf(DATA, at + 5)) {
    if (!lineStart(bytes, at)) continue
    let value = at + 5
    if (bytes[value] === 0x20) value++
    const first = bytes[value]
    if (first !== 0x7b && !(first === 0x5b && bytes.toString('latin1', value, value + 6) === '[DONE]')) return false
  }
  for (let at = bytes.indexOf(EVENT); at >= 0; at = bytes.indexOf(EVENT, at + 6)) {
    if (!lineStart(bytes, at)) continue
    let from = at + 6
    if (bytes[from] === 0x20) from++
    let to = from
    while (to < bytes.length && bytes[to] !== 0x0a && bytes[to] !== 0x0d) to++
    if (!names(bytes.toString('latin1', from, to).trim())) return false
  }
  for (const field of [ID, RETRY]) {
    for (let at = bytes.indexOf(field); at >= 0; at = bytes.indexOf(field, at + 1))
      if (lineStart(bytes, at)) return false
  }
  return true
}

function lineStart(bytes: Buffer, at: number): boolean {
  return at === 0 || bytes[at - 1] === 0x0a || bytes[at - 1] === 0x0d
}

/** Where the first of `markers` is in `bytes` from `from` on, or -1. */
function firstMarker(bytes: Buffer, markers: readonly Buffer[], from: number): number {
  let first = -1
  for (const marker of markers) {
    const at = bytes.indexOf(marker, from)
    if (at >= 0 && (first < 0 || at < first)) first = at
  }
  return first
}

/**
 * The relay's common path, for a chunk of whole events (`SseSplitter.idle` and `wholeEvents`):
 * a byte search finds the few events the tap must read; only those are decoded and given to
 * `forward`, the rest pass to `skip` as bytes. `splitter` is the stream's (idle) splitter.
 * Answers the bytes to send on: the chunk itself unless `forward` dropped an event, then the
 * chunk without it.
 */
export function relayWholeEvents(chunk: Uint8Array, tap: StreamTap, splitter: SseSplitter): Uint8Array {
  const bytes = bytesOf(chunk)
  let kept: Buffer[] | undefined
  let cursor = 0
  for (;;) {
    const hit = firstMarker(bytes, tap.markers, cursor)
    if (hit < 0) break
    // The events around the hit: from the blank line before it (or the read position) to the
    // blank line after it. A line holds no line break, so both lie outside every data line.
    const before = bytes.lastIndexOf(BLANK_LINE, hit)
    const start = before < cursor ? cursor : before + 2
    const end = bytes.indexOf(BLANK_LINE, hit) + 2
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
