import type { Dispatcher } from 'undici'
import type { Logger } from '../logger.js'
import { UpstreamExchange, type ExchangeWatcher, type UpstreamHttpRequest } from '../upstream/upstream-exchange.js'
import type { ProviderCall, UpstreamTarget } from './provider.js'

/*
 * The clock of a call: the whole call's deadline and the client's presence (CallControl), and
 * each upstream attempt's first-byte and idle timers (Attempt), with the stop reasons they end in.
 */

/** Why a call or an attempt is stopped: the client left, a timer ran out, or the gateway is stopping. */
export type AbortReason = 'client' | 'first_byte' | 'idle' | 'total' | 'shutdown'

/** Why an attempt was stopped; the reason decides the error and the usage status. */
export class Stop extends Error {
  constructor(readonly reason: AbortReason) {
    super(`stopped: ${reason}`)
  }
}

/**
 * What a provider gets for one attempt. The abort signal and the child logger are made only
 * when a provider asks for them (most never do). A class, not an object literal with getters:
 * V8 (Node 20) keeps the closures of such a literal's getters alive through young-generation
 * collections, and with them everything they capture, here the whole request. Every request
 * between two collections then survived them, and each collection copied megabytes (pauses
 * of about 5 ms instead of 1.5 at one request in flight; bench/NOTES.md).
 */
export class AttemptCall implements ProviderCall {
  #log: Logger | undefined

  constructor(
    readonly target: UpstreamTarget,
    readonly userKey: string,
    readonly dispatcher: Dispatcher,
    private readonly attempt: Attempt,
    private readonly requestLog: Logger,
  ) {}

  get signal(): AbortSignal {
    return this.attempt.signal
  }

  get log(): Logger {
    return (this.#log ??= this.requestLog.child({ channel: this.target.channelName }))
  }
}

/** The whole call's deadline and the client's presence; each attempt gets its own signal under it. */
export class CallControl {
  #stopped: AbortReason | undefined
  readonly #attempts = new Set<Attempt>()
  readonly #total: NodeJS.Timeout
  #done: (() => void) | undefined

  constructor(totalMs: number) {
    this.#total = setTimeout(() => this.stop('total'), totalMs)
    this.#total.unref()
  }

  attempt(firstByteMs: number, idleMs: number): Attempt {
    const attempt = new Attempt(this, firstByteMs, idleMs)
    if (this.#stopped) attempt.stop(this.#stopped)
    this.#attempts.add(attempt)
    return attempt
  }

  forget(attempt: Attempt): void {
    this.#attempts.delete(attempt)
  }

  stop(reason: AbortReason): void {
    this.#stopped ??= reason
    for (const attempt of this.#attempts) attempt.stop(reason)
  }

  /** The call is over (answered, failed or stopped): its deadline no longer runs. */
  done(): void {
    clearTimeout(this.#total)
    const listener = this.#done
    this.#done = undefined
    listener?.()
  }

  /** One listener, told once when `done` is called. */
  onDone(listener: () => void): void {
    this.#done = listener
  }
}

export function control(attempt: Attempt): CallControl {
  return attempt.parent
}

/**
 * One upstream attempt: an abort signal for the provider, and waits that give up when the
 * attempt is stopped (even if a provider ignores the signal) or its timer runs out. Until
 * output flows the timer is the first-byte deadline of the attempt; afterwards, the idle time
 * of each wait. Time spent waiting for a slow client is never counted against the upstream.
 * One timer serves every wait (re-armed, not re-created) and waits are one at a time.
 */
export class Attempt implements ExchangeWatcher {
  /** Made on first use: passthrough calls are stopped through `onStop`, not a signal. */
  #controller: AbortController | undefined
  readonly #firstByteDeadline: number
  #flowing = false
  #stopped: Stop | undefined
  readonly #listeners: Array<(reason: AbortReason) => void> = []
  #timer: NodeJS.Timeout | undefined
  /** Rejects the wait in progress, if any. */
  #waiting: ((error: Error) => void) | undefined
  /** The upstream exchange of a passthrough attempt, which reports its own waits. */
  #exchange: UpstreamExchange | undefined

  constructor(
    readonly parent: CallControl,
    firstByteMs: number,
    private readonly idleMs: number,
  ) {
    this.#firstByteDeadline = performance.now() + firstByteMs
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController()
      if (this.#stopped) this.#controller.abort(this.#stopped)
    }
    return this.#controller.signal
  }

  stop(reason: AbortReason): void {
    if (this.#stopped) return
    const stopped = new Stop(reason)
    this.#stopped = stopped
    this.#clearTimer()
    this.#controller?.abort(stopped)
    this.#waiting?.(stopped)
    for (const listener of this.#listeners) listener(reason)
  }

  onStop(listener: (reason: AbortReason) => void): void {
    if (this.#stopped) listener(this.#stopped.reason)
    else this.#listeners.push(listener)
  }

  /** Output is flowing: from now on each wait may last the idle timeout. */
  flowing(): void {
    if (this.#flowing) return
    this.#flowing = true
    this.#clearTimer()
  }

  /** The attempt is over (answered or failed): the call no longer stops it. */
  release(): void {
    this.#clearTimer()
    this.parent.forget(this)
  }

  /** A provider promise that loses to the attempt being stopped or to its timer. */
  wait<T>(promise: Promise<T>): Promise<T> {
    const stopped = this.#stopped
    if (stopped) {
      promise.catch(() => undefined)
      return Promise.reject(stopped)
    }
    this.#arm()
    return new Promise<T>((resolve, reject) => {
      this.#waiting = reject
      promise.then(
        value => {
          this.#waiting = undefined
          resolve(value)
        },
        (error: unknown) => {
          this.#waiting = undefined
          reject(this.#stopped ?? error)
        },
      )
    })
  }

  next<T>(iterator: AsyncIterator<T>): Promise<IteratorResult<T>> {
    // The exchange is aborted by `stop` and reports its waits itself: no promise around its own.
    if (iterator === this.#exchange) return iterator.next()
    return this.wait(iterator.next())
  }

  /**
   * The passthrough attempt's upstream exchange: stopping the attempt aborts it, and its head
   * and reads are timed by this attempt's timer (`waiting`/`resumed`) without a promise around
   * each, so its `head` and `next()` may be awaited directly.
   */
  exchange(dispatcher: Dispatcher, request: UpstreamHttpRequest, body: string): UpstreamExchange {
    const exchange = new UpstreamExchange(dispatcher, request, body, this)
    this.#exchange = exchange
    this.onStop(reason => exchange.abort(new Stop(reason)))
    return exchange
  }

  /** The exchange waits on the upstream: the timer runs; a stop aborts the exchange (`onStop`). */
  waiting(): void {
    if (this.#stopped) return
    this.#arm()
    this.#waiting = ignore
  }

  resumed(): void {
    this.#waiting = undefined
  }

  #arm(): void {
    if (this.#timer) {
      // The first-byte deadline is fixed; an idle wait starts its own time now.
      if (this.#flowing) this.#timer.refresh()
      return
    }
    const ms = this.#flowing ? this.idleMs : Math.max(0, this.#firstByteDeadline - performance.now())
    // Unref'd: the upstream's socket keeps the process alive while it matters, a timer need not.
    this.#timer = setTimeout(() => this.#expired(), ms)
    this.#timer.unref()
  }

  #expired(): void {
    if (this.#waiting) {
      this.stop(this.#flowing ? 'idle' : 'first_byte')
      return
    }
    // Nobody waits on the upstream (the pipeline is busy with the client): the next wait re-arms
    // an idle timer as it is, or a first-byte one with what is left of the deadline (nothing).
    if (!this.#flowing) this.#timer = undefined
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
  }
}

function ignore(): void {}

export function phaseText(reason: AbortReason): string {
  switch (reason) {
    case 'first_byte':
      return 'did not start answering in time'
    case 'idle':
      return 'stopped sending in the middle of the answer'
    case 'total':
      return 'took longer than the call may last'
    case 'client':
      return 'call was cancelled by the client'
    case 'shutdown':
      return 'call was cut off: the server is shutting down'
  }
}
