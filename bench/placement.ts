/**
 * Where each process runs, and how much memory a server holds. Every server under test is
 * pinned to the same core, and the load generator (this process) and the mock upstream to the
 * others, with `taskset` (all threads, so GC helpers and the libuv pool stay there too): each
 * target then gets exactly one core of its own, whatever it is, instead of competing with the
 * load generator for two. Linux only; without `taskset` or with one core nothing is pinned and
 * the run says so.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import os from 'node:os'

export interface Placement {
  /** The core of the servers under test, or undefined when nothing is pinned. */
  readonly targetCore: number | undefined
  /** The cores of the load generator and the mock. */
  readonly otherCores: string | undefined
}

function taskset(cores: string, pid: number): void {
  execFileSync('taskset', ['-a', '-p', '-c', cores, String(pid)], { stdio: 'ignore' })
}

/** Decides the cores and pins this process (the load generator) to the others. */
export function placeRunner(wanted: boolean): Placement {
  const cores = os.availableParallelism()
  if (!wanted || process.platform !== 'linux' || cores < 2) return { targetCore: undefined, otherCores: undefined }
  const targetCore = cores - 1
  const otherCores = cores === 2 ? '0' : `0-${cores - 2}`
  try {
    taskset(otherCores, process.pid)
  } catch {
    console.warn('bench: taskset is not available; nothing is pinned, the targets share every core')
    return { targetCore: undefined, otherCores: undefined }
  }
  return { targetCore, otherCores }
}

/** Pins a server under test to the target core, or the mock to the load generator's cores. */
export function pin(placement: Placement, pid: number, role: 'target' | 'mock'): void {
  const cores = role === 'target' ? placement.targetCore?.toString() : placement.otherCores
  if (cores !== undefined) taskset(cores, pid)
}

/** Resident memory of a process, in MB (Linux; NaN elsewhere). */
export function rssMb(pid: number): number {
  try {
    const line = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return line ? Number(line[1]) / 1024 : Number.NaN
  } catch {
    return Number.NaN
  }
}
