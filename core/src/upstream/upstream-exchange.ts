import type { Dispatcher } from 'undici'

/**
 * The HTTP request a passthrough provider wants sent for a call: the pipeline POSTs the body as
 * JSON over the SSRF-safe pool, under its timeouts, and relays the answer's bytes.
 */
export interface UpstreamHttpRequest {
  /** Absolute URL: the channel's base URL and the endpoint path. */
  readonly url: string
  /** The provider's headers (the key, extra ones); `content-type` is set by the pipeline. */
  readonly headers: Readonly<Record<string, string>>
}

/** Status and headers of an upstream answer. */
export interface UpstreamHead {
  readonly status: number
  /** The first value of a header; `name` in lower case. */
  header(name: string): string | undefined
}

/**
 * Told when the reader starts waiting on the upstream (for the head, or a read with nothing
 * buffered) and when that wait ends: the attempt's timeouts count exactly that time.
 */
export interface ExchangeWatcher {
  waiting(): void
  resumed(): void
  /** The answer's bytes have started to arrive (`whole` reads): from now on a wait is idle time. */
  flowing(): void
}

/** Above this many buffered bytes the upstream socket is paused until the reader catches up. */
const HIGH_WATER = 64 * 1024

/** `origin` and `path` of each URL seen, so the hot path does not parse a URL per call. */
const targets = new Map<string, { origin: string; path: string }>()
const TARGETS_KEPT = 1024

function targetOf(url: string): { origin: string; path: string } {
  let target = targets.get(url)
  if (!target) {
    const parsed = new URL(url)
    target = { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` }
    if (targets.size >= TARGETS_KEPT) targets.clear()
    targets.set(url, target)
  }
  return target
}

/** A `whole` read's promise and its size limit. */
interface WholeRead {
  readonly resolve: (answer: Buffer) => void
  readonly reject: (error: Error) => void
  readonly limit: number
}

/** The provider's headers and the JSON content type, as the flat name/value list undici takes (no object copied). */
function headerList(headers: Readonly<Record<string, string>>): string[] {
  const list = ['content-type', 'application/json']
  for (const name in headers) {
    if (name.toLowerCase() !== 'content-type') list.push(name, headers[name] as string)
  }
  return list
}

/**
 * One upstream HTTP exchange over undici's dispatcher, read as an async iterator of body
 * chunks: the least machinery between the upstream socket and the relay (no body stream, no
 * abort signal listener, one promise per chunk only when the reader has to wait). It uses
 * undici's callback handler, which undici 7 runs without an adapter. Undici's own
 * timeouts are off; the pipeline's attempt owns them and calls `abort`.
 */
export class UpstreamExchange implements AsyncIterator<Uint8Array>, Dispatcher.DispatchHandler {
  readonly head: Promise<UpstreamHead>
  #resolveHead!: (head: UpstreamHead) => void
  #rejectHead!: (error: Error) => void
  #abort: ((error?: Error) => void) | undefined
  #resume: (() => void) | undefined
  #aborted: Error | undefined
  readonly #chunks: Buffer[] = []
  #buffered = 0
  #paused = false
  #ended = false
  #error: Error | undefined
  #waiter: { resolve: (result: IteratorResult<Uint8Array>) => void; reject: (error: Error) => void } | undefined
  #waking = false
  /** A `whole` read in progress. */
  #whole: WholeRead | undefined

  constructor(
    dispatcher: Dispatcher,
    request: UpstreamHttpRequest,
    body: string,
    private readonly watcher?: ExchangeWatcher,
  ) {
    this.head = new Promise<UpstreamHead>((resolve, reject) => {
      this.#resolveHead = resolve
      this.#rejectHead = reject
    })
    watcher?.waiting()
    const { origin, path } = targetOf(request.url)
    dispatcher.dispatch(
      {
        origin,
        path,
        method: 'POST',
        headers: headerList(request.headers),
        body,
        // The pipeline owns the first-byte and idle timeouts; undici's 300 s ones would cut it short.
        headersTimeout: 0,
        bodyTimeout: 0,
      },
      this,
    )
  }

  /** Stops the exchange: the connection is dropped and a pending read rejects with `reason`. */
  abort(reason: Error): void {
    if (this.#ended || this.#error) return
    this.#aborted ??= reason
    if (this.#abort) this.#abort(reason)
    else this.onError(reason)
  }

  // ----------------------------------------------------------- undici's handler

  onConnect(abort: (error?: Error) => void): void {
    this.#abort = abort
    if (this.#aborted) abort(this.#aborted)
  }

  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void): boolean {
    // 1xx informational answers come first and are not the answer.
    if (status < 200) return true
    this.#resume = resume
    if (!this.#waiter) this.watcher?.resumed()
    this.#resolveHead({ status, header: name => headerOf(rawHeaders, name) })
    return true
  }

  onData(chunk: Buffer): boolean {
    this.#chunks.push(chunk)
    this.#buffered += chunk.byteLength
    if (this.#whole) return this.#gather()
    this.#wake()
    if (this.#buffered < HIGH_WATER) return true
    this.#paused = true
    return false
  }

  onComplete(): void {
    this.#ended = true
    if (this.#whole) this.#gather()
    else this.#wake()
  }

  onError(error: Error): void {
    if (this.#ended || this.#error) return
    const reason = this.#aborted ?? error
    this.#error = reason
    if (!this.#waiter) this.watcher?.resumed()
    // A no-op once the head has come: the error then reaches the reader.
    this.#rejectHead(reason)
    if (this.#whole) this.#gather()
    else this.#wake()
  }

  /**
   * Settles a waiting read once the parser is through the socket read that woke it: a model's
   * frames arrive a few to a read, and the reader gets them as one chunk (as a byte stream's
   * `read()` would give them), so the client gets one write per read instead of one per frame.
   */
  #wake(): void {
    if (!this.#waiter || this.#waking) return
    this.#waking = true
    queueMicrotask(() => {
      this.#waking = false
      const waiter = this.#waiter
      if (!waiter) return
      this.#waiter = undefined
      this.watcher?.resumed()
      const taken = this.#take()
      if (taken instanceof Error) waiter.reject(taken)
      else waiter.resolve(taken)
    })
  }

  // ----------------------------------------------------------- the reader's side

  next(): Promise<IteratorResult<Uint8Array>> {
    if (this.#chunks.length === 0 && !this.#error && !this.#ended) {
      this.watcher?.waiting()
      return new Promise((resolve, reject) => {
        this.#waiter = { resolve, reject }
      })
    }
    const taken = this.#take()
    return taken instanceof Error ? Promise.reject(taken) : Promise.resolve(taken)
  }

  /**
   * The rest of the answer as one buffer, once it has all come: one promise for a whole JSON
   * answer instead of one per read. Rejects with the exchange's error, or when the answer grows
   * past `limit` bytes (the exchange is then aborted). The watcher hears of the first bytes
   * (`flowing`) and of each wait, so the attempt's timeouts apply as they do to `next()`.
   */
  whole(limit: number): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      this.#whole = { resolve, reject, limit }
      // Held back while nobody read: from now on everything is taken as it comes.
      if (this.#paused) {
        this.#paused = false
        this.#resume?.()
      }
      this.#gather()
    })
  }

  /** Settles a `whole` read that can be settled, else waits on; true: undici may go on reading. */
  #gather(): boolean {
    const whole = this.#whole as WholeRead
    const failure = this.#error ?? (this.#buffered > whole.limit ? new Error('upstream answer too large') : undefined)
    if (!failure && !this.#ended) {
      if (this.#chunks.length > 0) this.watcher?.flowing()
      this.watcher?.waiting()
      return true
    }
    this.#whole = undefined
    this.watcher?.resumed()
    const answer = failure ? undefined : Buffer.concat(this.#chunks, this.#buffered)
    this.#chunks.length = 0
    this.#buffered = 0
    if (failure) {
      if (!this.#error) this.abort(failure)
      whole.reject(failure)
      return false
    }
    whole.resolve(answer as Buffer)
    return true
  }

  /** Everything buffered as one chunk; then the error or the end. */
  #take(): IteratorResult<Uint8Array> | Error {
    const chunks = this.#chunks
    if (chunks.length > 0) {
      const value = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, this.#buffered)
      chunks.length = 0
      this.#buffered = 0
      if (this.#paused) {
        this.#paused = false
        this.#resume?.()
      }
      return { done: false, value }
    }
    return this.#error ?? { done: true, value: undefined }
  }

  /** The reader stops early: the rest of the answer is not wanted. */
  return(): Promise<IteratorResult<Uint8Array>> {
    if (!this.#ended) this.abort(new Error('the answer was not read to the end'))
    this.#chunks.length = 0
    return Promise.resolve({ done: true, value: undefined })
  }

  [Symbol.asyncIterator](): this {
    return this
  }
}

/** A header's first value from undici's raw name/value list. */
function headerOf(raw: Buffer[], name: string): string | undefined {
  for (let index = 0; index + 1 < raw.length; index += 2) {
    if ((raw[index] as Buffer).toString('latin1').toLowerCase() === name)
      return (raw[index + 1] as Buffer).toString('latin1')
  }
  return undefined
}
