/*
 * Argument checks both KV drivers apply, so the memory driver refuses exactly what Redis would
 * (and with a clearer message than Redis gives).
 */

export function assertTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    throw new RangeError(`ttlMs must be a positive integer of milliseconds, got ${ttlMs}`)
  }
}

export function assertStep(by: number): void {
  if (!Number.isSafeInteger(by)) throw new RangeError(`increment step must be an integer, got ${by}`)
}
