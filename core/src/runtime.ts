import type { Session } from 'node:inspector/promises'
import { setFlagsFromString } from 'node:v8'

/**
 * V8 settings for a process whose work is a gateway's: many short requests, each a few dozen
 * kilobytes of objects that die when it ends.
 *
 * `--no-allocation-site-pretenuring`: V8 watches where objects are allocated, and when most
 * objects of one allocation site survive a young-generation collection it allocates that
 * site's later objects directly in the old generation. Request objects that are alive when a
 * collection happens (one in flight is enough) can tip a site over; from then on those objects
 * are old when they are made, everything newer stored into them is kept alive by them until
 * the next full collection, and each young collection copies megabytes of dead requests. On
 * this workload the setting cut the objects surviving a young collection from about 12% to
 * under 2% and its pause from about 7 ms to under 2 (bench/NOTES.md).
 */
export const GATEWAY_V8_FLAGS: readonly string[] = ['--no-allocation-site-pretenuring']

/**
 * Applies `GATEWAY_V8_FLAGS` to this process. The `parley` command calls it before anything
 * else; code that embeds a gateway with `createGateway` can call it first thing too, or start
 * Node with the flags instead. It changes the whole process, so a library never calls it for
 * its host.
 */
export function tuneProcessForGateway(): void {
  for (const flag of GATEWAY_V8_FLAGS) setFlagsFromString(flag)
}

/**
 * Gives back the memory the start used and no longer needs: one memory-reducing full
 * collection, asked through the in-process inspector (`HeapProfiler.collectGarbage`, no port
 * opened). Loading the modules and setting up the plugins grows V8's young generation to its
 * largest (two 32 MB semi-spaces on a 64-bit machine with a few GB of memory) and V8 keeps it
 * while the process is idle: about 60 MB of resident memory held for nothing. The collection
 * shrinks it to what is live; under load it grows again as far as the requests need, so the
 * cost per request is unchanged (bench/NOTES.md, "Memory at start"). It holds the event loop
 * for a fraction of a second (up to 2 s on a busy two-core machine), so the `parley` command
 * calls it after `start()` and before it listens. Like
 * `tuneProcessForGateway`, it acts on the whole process, so a library never calls it for its
 * host. Without an inspector (Node built without one) it does nothing.
 */
export async function releaseStartupMemory(): Promise<void> {
  let session: Session
  try {
    const { Session } = await import('node:inspector/promises')
    session = new Session()
    session.connect()
  } catch {
    return
  }
  try {
    await session.post('HeapProfiler.collectGarbage')
  } finally {
    session.disconnect()
  }
}
