/**
 * A value now, or a promise of it. Ports on the data plane's path (authentication, limits)
 * answer at once when they can (a cache hit, a counter in memory), so a call pays for promises
 * only where something really waits.
 */
export type MaybePromise<T> = T | PromiseLike<T>

export function isPromiseLike<T>(value: MaybePromise<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function'
}

/** `next(value)` now when the value is here, once it settles when it is a promise. */
export function andThen<T, U>(value: MaybePromise<T>, next: (value: T) => MaybePromise<U>): MaybePromise<U> {
  return isPromiseLike(value) ? value.then(next) : next(value)
}
