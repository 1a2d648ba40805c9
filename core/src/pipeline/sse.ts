/**
 * Server-sent events as OpenAI-compatible upstreams send them, read on the side of a
 * passthrough: the bytes go to the client unchanged (except one frame a client did not ask
 * for), while usage and the streamed text are picked up for the usage row.
 */

/** One event: its text as received (blank-line terminator included), its `event:` name and its data. */
export interface SseEvent {
  readonly raw: string
  readonly name: string | undefined
  readonly data: string
}

/**
 * Splits a byte stream into whole events, whatever the chunking and line endings (`\n`,
 * `\r\n`, `\r`). A multi-byte character cut between chunks is decoded once whole.
 */
export class SseSplitter {
  #buffer = ''
  readonly #decoder = new TextDecoder()
  /** The previous chunk ended on an event boundary, with no partial character held back. */
  #clean = true
  #aligned = false

  push(chunk: Uint8Array): SseEvent[] {
    const startedClean = this.#clean
    this.#buffer += this.#decoder.decode(chunk, { stream: true })
    const events: SseEvent[] = []
    for (;;) {
      const end = eventEnd(this.#buffer)
      if (end < 0) break
      events.push(parseEvent(this.#buffer.slice(0, end)))
      this.#buffer = this.#buffer.slice(end)
    }
    // An ASCII last byte (the terminator's) means the decoder holds nothing back.
    this.#clean = this.#buffer === '' && (chunk.length === 0 || (chunk[chunk.length - 1] as number) < 0x80)
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
    const text = this.#buffer + this.#decoder.decode()
    this.#buffer = ''
    return text.trim() === '' ? undefined : parseEvent(text)
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

/** Index just past the first event terminator (a blank line), or -1. */
function eventEnd(text: string): number {
  const match = /\r\n\r\n|\n\n|\r\r|\r\n\n|\n\r\n/.exec(text)
  return match ? match.index + match[0].length : -1
}

function parseEvent(raw: string): SseEvent {
  // The shape OpenAI-compatible upstreams send nearly always: one `data: ` line, then a blank line.
  const end = raw.length - 2
  if (raw.startsWith('data: ') && raw.indexOf('\n', 6) === end && raw.charCodeAt(end + 1) === 10 && raw.indexOf('\r') === -1) {
    return { raw, name: undefined, data: raw.slice(6, end) }
  }
  let name: string | undefined
  const data: string[] = []
  for (const line of raw.split(/\r\n|\r|\n/)) {
    if (line.startsWith('data:')) data.push(line.slice(line.charAt(5) === ' ' ? 6 : 5))
    else if (line.startsWith('event:')) name = line.slice(line.charAt(6) === ' ' ? 7 : 6).trim()
  }
  return { raw, name, data: data.join('\n') }
}

export interface TokenUsage {
  readonly promptTokens: number
  readonly completionTokens: number
}

/** What a tap learned from a stream by its end. */
export interface TapResult {
  /** From the upstream; undefined when it sent none (the pipeline estimates). */
  readonly usage: TokenUsage | undefined
  /** The streamed output text (answer, reasoning, tool arguments), for estimating when usage is missing. */
  readonly outputText: string
  /** The upstream reported an error inside the stream. */
  readonly error: { readonly message: string; readonly code?: string } | undefined
  /** The stream ended the way the format ends (`[DONE]`, `response.completed`, ...). */
  readonly complete: boolean
}

/** Watches one passthrough stream. `forward` returns whether an event goes on to the client. */
export interface StreamTap {
  forward(event: SseEvent): boolean
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
  }
  if (cursor < bytes.length) {
    tap.skip(bytes.subarray(cursor))
    kept?.push(bytes.subarray(cursor))
  }
  return kept ? Buffer.concat(kept) : chunk
}

/** A tap's record of the stream's text, in order: data of events it read, or bytes it let pass unread. */
type Seen = Array<string | Uint8Array>

/** The data of every event in `seen`, in order, bytes that passed unread split only now. */
function dataOf(seen: Seen, keep: (event: SseEvent) => boolean = () => true): string[] {
  const out: string[] = []
  for (const item of seen) {
    if (typeof item === 'string') out.push(item)
    else for (const event of new SseSplitter().push(item)) if (keep(event)) out.push(event.data)
  }
  return out
}

const CHAT_MARKERS = ['"usage":{', '"usage": {', '"error"', '[DONE]'].map(text => Buffer.from(text))
const RESPONSES_MARKERS = ['response.completed', 'response.incomplete', 'response.failed', 'error'].map(text => Buffer.from(text))

/**
 * Chat completions: usage comes on the extra last chunk that `stream_options.include_usage`
 * adds (choices empty). When the client did not ask for it, that chunk is dropped.
 */
export function chatCompletionsTap(clientWantsUsage: boolean): StreamTap {
  let usage: TokenUsage | undefined
  let error: TapResult['error']
  let complete = false
  // Data payloads are kept raw and parsed only if usage never comes: the common path parses
  // just the one usage chunk.
  const payloads: Seen = []
  return {
    markers: CHAT_MARKERS,
    skip(bytes) {
      payloads.push(bytes)
    },
    forward(event) {
      const data = event.data
      if (data === '[DONE]') {
        complete = true
        return true
      }
      if (data.includes('"usage":{') || data.includes('"usage": {')) {
        const parsed = parseJson(data)
        const found = chatUsage(parsed?.usage)
        if (found) usage = found
        const choices = parsed?.choices
        if (Array.isArray(choices) && choices.length === 0) return clientWantsUsage
        payloads.push(data)
        return true
      }
      if (data.startsWith('{"error"') || data.includes('"error":{')) {
        const parsed = parseJson(data)
        if (parsed && typeof parsed.error === 'object' && parsed.error !== null) error = errorOf(parsed.error)
      }
      if (data !== '') payloads.push(data)
      return true
    },
    result: () => ({ usage, outputText: usage ? '' : chatStreamText(dataOf(payloads)), error, complete }),
  }
}

/** Responses API: usage comes inside the final `response.completed` (or `.incomplete`/`.failed`) event. */
export function responsesTap(): StreamTap {
  let usage: TokenUsage | undefined
  let error: TapResult['error']
  let complete = false
  // Text deltas are kept raw and parsed only at the end (for an estimate, when usage is missing).
  const deltas: Seen = []
  return {
    markers: RESPONSES_MARKERS,
    skip(bytes) {
      deltas.push(bytes)
    },
    forward(event) {
      const type = typeOf(event)
      if (type === undefined) return true
      if (type.endsWith('.delta')) {
        if (isTextDelta(type)) deltas.push(event.data)
        return true
      }
      if (type === 'response.completed' || type === 'response.incomplete' || type === 'response.failed') {
        complete = type !== 'response.failed'
        const response = parseJson(event.data)?.response as Record<string, unknown> | undefined
        const found = responsesUsage(response?.usage)
        if (found) usage = found
        if (type === 'response.failed' && response?.error) error = errorOf(response.error)
      } else if (type === 'error') {
        error = errorOf(parseJson(event.data) ?? {})
      }
      return true
    },
    result: () => ({ usage, outputText: deltaText(dataOf(deltas, event => isTextDelta(typeOf(event)))), error, complete }),
  }
}

function typeOf(event: SseEvent): string | undefined {
  return event.name ?? /"type":\s*"([^"]+)"/.exec(event.data)?.[1]
}

function isTextDelta(type: string | undefined): boolean {
  return type === 'response.output_text.delta' || type === 'response.function_call_arguments.delta' || (type?.startsWith('response.reasoning') === true && type.endsWith('.delta'))
}

function deltaText(payloads: readonly string[]): string {
  let text = ''
  for (const payload of payloads) {
    const delta = parseJson(payload)?.delta
    if (typeof delta === 'string') text += delta
  }
  return text
}

/** Usage in a chat completion (`usage.prompt_tokens`, `usage.completion_tokens`). */
export function chatUsage(value: unknown): TokenUsage | undefined {
  const usage = value as { prompt_tokens?: unknown; completion_tokens?: unknown } | null | undefined
  if (typeof usage?.prompt_tokens !== 'number' || typeof usage.completion_tokens !== 'number') return undefined
  return { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens }
}

/** Usage in a Responses API object (`usage.input_tokens`, `usage.output_tokens`). */
export function responsesUsage(value: unknown): TokenUsage | undefined {
  const usage = value as { input_tokens?: unknown; output_tokens?: unknown } | null | undefined
  if (typeof usage?.input_tokens !== 'number' || typeof usage.output_tokens !== 'number') return undefined
  return { promptTokens: usage.input_tokens, completionTokens: usage.output_tokens }
}

/** The text of a non-streamed chat completion's choices (answer, reasoning, tool arguments). */
export function chatCompletionText(body: Record<string, unknown> | undefined): string {
  const parts: string[] = []
  for (const choice of arrayOf(body?.choices)) {
    const message = (choice as { message?: Record<string, unknown> }).message
    collectMessageText(message, parts)
  }
  return parts.join('')
}

/** The text of a non-streamed Responses API object's output items. */
export function responseText(body: Record<string, unknown> | undefined): string {
  const parts: string[] = []
  for (const item of arrayOf(body?.output)) {
    const record = item as Record<string, unknown>
    if (typeof record.arguments === 'string') parts.push(record.arguments)
    for (const part of [...arrayOf(record.content), ...arrayOf(record.summary)]) {
      const text = (part as { text?: unknown }).text
      if (typeof text === 'string') parts.push(text)
    }
  }
  return parts.join('')
}

function chatStreamText(payloads: readonly string[]): string {
  const parts: string[] = []
  for (const payload of payloads) {
    for (const choice of arrayOf(parseJson(payload)?.choices)) collectMessageText((choice as { delta?: Record<string, unknown> }).delta, parts)
  }
  return parts.join('')
}

function collectMessageText(message: Record<string, unknown> | undefined, parts: string[]): void {
  if (!message) return
  for (const field of ['content', 'reasoning_content', 'reasoning'] as const) {
    const value = message[field]
    if (typeof value === 'string') parts.push(value)
  }
  for (const call of arrayOf(message.tool_calls)) {
    const fn = (call as { function?: { name?: unknown; arguments?: unknown } }).function
    if (typeof fn?.name === 'string') parts.push(fn.name)
    if (typeof fn?.arguments === 'string') parts.push(fn.arguments)
  }
}

function errorOf(value: unknown): { message: string; code?: string } {
  const record = value as { message?: unknown; code?: unknown }
  const message = typeof record.message === 'string' ? record.message : 'the upstream reported an error'
  return typeof record.code === 'string' ? { message, code: record.code } : { message }
}

function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : []
}

const USAGE_KEY = Buffer.from('"usage":')

/**
 * The usage of a whole JSON answer, read without parsing the rest of it: the last `"usage":`
 * key (OpenAI puts it after the choices or the output; inside a string its quotes would be
 * escaped) and its object. Undefined when there is none or it does not read as usage; the
 * caller then parses the answer whole.
 */
export function usageInAnswer(bytes: Buffer, read: (value: unknown) => TokenUsage | undefined): TokenUsage | undefined {
  const key = bytes.lastIndexOf(USAGE_KEY)
  if (key < 0) return undefined
  let start = key + USAGE_KEY.length
  while (isSpace(bytes[start])) start++
  if (bytes[start] !== 0x7b) return undefined
  const end = objectEnd(bytes, start)
  return end < 0 ? undefined : read(parseJson(bytes.toString('utf8', start, end)))
}

/** Whether a whole answer is framed as a JSON object: `{`…`}` around it, whitespace aside. */
export function framedAsObject(bytes: Buffer): boolean {
  let first = 0
  let last = bytes.length - 1
  while (first <= last && isSpace(bytes[first])) first++
  while (last > first && isSpace(bytes[last])) last--
  return bytes[first] === 0x7b && bytes[last] === 0x7d
}

function isSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09
}

/** Index just past the object that opens at `start`, strings and escapes respected; -1 if it never closes. */
function objectEnd(bytes: Buffer, start: number): number {
  let depth = 0
  let inString = false
  for (let index = start; index < bytes.length; index++) {
    const byte = bytes[index]
    if (inString) {
      if (byte === 0x5c) index++
      else if (byte === 0x22) inString = false
    } else if (byte === 0x22) inString = true
    else if (byte === 0x7b || byte === 0x5b) depth++
    else if ((byte === 0x7d || byte === 0x5d) && --depth === 0) return index + 1
  }
  return -1
}

export function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}
