/** What the list needs of a call: its two links, owned by the list. */
export interface Listed<T> {
  runningPrev: T | undefined
  runningNext: T | undefined
}

/**
 * The calls in progress, for a shutdown to stop them all: a list threaded through the calls.
 *
 * Not a `Set`: a long-lived set that every call joins and leaves is rehashed every few dozen
 * calls into a new table, and V8 keeps each old table (with the entries it held) pointing at its
 * successor. An old table that outlived a young collection is in the old generation, dead but
 * still a root for the next young collection, so the chain of tables kept every call that was
 * in one of them: about 3-4 KB of each request promoted when calls overlap (bench/NOTES.md,
 * "A second link"). A call that leaves the list clears its own links, so nothing that ended
 * points at anything newer.
 */
export class RunningCalls<T extends Listed<T>> {
  #first: T | undefined
  #size = 0

  get size(): number {
    return this.#size
  }

  add(call: T): void {
    call.runningPrev = undefined
    call.runningNext = this.#first
    if (this.#first) this.#first.runningPrev = call
    this.#first = call
    this.#size++
  }

  /** Removes a call in the list; a call that is not in it is left alone. */
  delete(call: T): void {
    const { runningPrev: prev, runningNext: next } = call
    if (prev) prev.runningNext = next
    else if (this.#first === call) this.#first = next
    else return
    if (next) next.runningPrev = prev
    call.runningPrev = undefined
    call.runningNext = undefined
    this.#size--
  }

  /** The calls now, as an array: stopping one may remove it from the list. */
  list(): T[] {
    const calls: T[] = []
    for (let call = this.#first; call; call = call.runningNext) calls.push(call)
    return calls
  }
}
