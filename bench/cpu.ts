/**
 * Who used the CPU during a measurement: each server, the load generator (this process), and
 * everything else on the machine. On a small machine the load generator, the mock and the
 * target share the cores, so a target pinned at one core is CPU-bound, and "other" above a few
 * percent of a core means another program skewed the cell. Linux only (/proc); elsewhere the
 * figures are left out.
 */
import { readFileSync } from 'node:fs'

/** USER_HZ: the unit of /proc times, 100 on every mainstream Linux build. */
const TICKS_PER_S = 100

export interface CpuSample {
  readonly at: number
  readonly machineS: number
  readonly selfS: number
  readonly pids: ReadonlyMap<number, number>
}

/** Cores used on average over the interval (1 = one core fully busy). */
export type CpuUse = Record<string, number>

function machineBusyS(): number {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] as string)
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number)
  // user nice system idle iowait irq softirq steal: busy is everything but idle and iowait.
  const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0)
  return (total - (fields[3] ?? 0) - (fields[4] ?? 0)) / TICKS_PER_S
}

function processS(pid: number): number {
  // The command may contain spaces and parentheses: fields are counted after the last ')'.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S
}

export function sample(pids: readonly number[]): CpuSample | undefined {
  if (process.platform !== 'linux') return undefined
  try {
    const usage = process.cpuUsage()
    return {
      at: performance.now(),
      machineS: machineBusyS(),
      selfS: (usage.user + usage.system) / 1e6,
      pids: new Map(pids.map(pid => [pid, processS(pid)])),
    }
  } catch {
    return undefined
  }
}

export function cpuUse(
  before: CpuSample | undefined,
  after: CpuSample | undefined,
  names: ReadonlyMap<number, string>,
): CpuUse | undefined {
  if (!before || !after) return undefined
  const wallS = (after.at - before.at) / 1000
  const use: CpuUse = {}
  let ours = after.selfS - before.selfS
  use.loadgen = ours / wallS
  for (const [pid, name] of names) {
    const spent = (after.pids.get(pid) ?? 0) - (before.pids.get(pid) ?? 0)
    ours += spent
    use[name] = spent / wallS
  }
  use.other = Math.max(0, (after.machineS - before.machineS - ours) / wallS)
  return use
}
