/**
 * What a run produces: the table, the performance targets of the issue checked per format, and
 * the JSON file with everything needed to compare runs (machine, Node, settings, raw figures).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { CpuUse } from './cpu.js'
import type { Measurement } from './load.js'
import type { Ttfb } from './ttfb.js'

export type Target = 'mock' | 'proxy' | 'fastify' | 'parley' | 'before'
/** The targets held to Parley's goals: Parley, and another checkout's Parley (BENCH_BEFORE). */
export type Subject = 'parley' | 'before'
export type Format = 'json' | 'sse'

export interface Row extends Measurement {
  readonly target: Target
  readonly format: Format
  readonly connections: number
  /** Cores each process used during the measurement (Linux only). */
  readonly cpu?: CpuUse | undefined
  /** The target's resident memory at the end of the cell, in MB (Linux only). */
  readonly rssMb?: number | undefined
  /** Time to first byte, from the sequential probe that follows the lowest concurrency's cell. */
  readonly ttfb?: Ttfb | undefined
}

export interface Check {
  readonly name: string
  /** Undefined for a goal of the whole process (memory). */
  readonly format?: Format | undefined
  readonly value: number
  readonly goal: string
  /** The value meets the goal. */
  readonly pass: boolean
  /** What the line says: `info` for a figure that cannot be held to its goal in this run. */
  readonly verdict: 'PASS' | 'MISS' | 'info'
  /** One of the cells compared shared the machine with other busy programs. */
  readonly noisy: boolean
  /** Why the verdict is only `info`, or what the figure depends on. */
  readonly note?: string | undefined
}

/** Parley's throughput is at least 0.6 of the bare proxy's at the highest concurrency. */
export const MIN_THROUGHPUT_RATIO = 0.6
/** The same with BENCH_PARLEY_REDIS: every call also counts its limits in Redis. */
export const MIN_THROUGHPUT_RATIO_REDIS = 0.45
/** Parley's CPU time per request is at most 1.6 times the bare proxy's at the highest concurrency. */
export const MAX_CPU_PER_REQUEST_RATIO = 1.6
/** Parley adds at most 1 ms to the bare proxy's p99 at the lowest concurrency. */
export const MAX_P99_DELTA_MS = 1
/** Parley adds at most 0.2 ms to the bare proxy's median time to first byte (sequential probe). */
export const MAX_TTFB_P50_DELTA_MS = 0.2
/** Parley's resident memory after start and set-up, before any load (from the build). */
export const MAX_IDLE_RSS_MB = 150
/** Parley's highest resident memory at the end of any of its cells (from the build). */
export const MAX_LOADED_RSS_MB = 200
/** Cores used by other programs during a cell above which its figures are marked as skewed. */
export const NOISY_OTHER_CORES = 0.1

export function noisy(row: Row | undefined): boolean {
  return (row?.cpu?.other ?? 0) > NOISY_OTHER_CORES
}

export const TARGET_NAMES: Record<Target, string> = {
  mock: 'mock (direct)',
  proxy: 'bare proxy',
  fastify: 'Fastify proxy',
  parley: 'Parley',
  before: 'Parley before',
}

function find(rows: readonly Row[], target: Target, format: Format, connections: number): Row | undefined {
  return rows.find(row => row.target === target && row.format === format && row.connections === connections)
}

function middle(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const half = sorted.length >> 1
  return sorted.length % 2 === 1
    ? (sorted[half] as number)
    : ((sorted[half - 1] as number) + (sorted[half] as number)) / 2
}

/** One row per cell: each figure is the median of that cell's rounds (failures are summed). */
export function medians(rounds: readonly Row[]): Row[] {
  const cells = new Map<string, Row[]>()
  for (const row of rounds) {
    const key = `${row.target}/${row.format}/${row.connections}`
    cells.set(key, [...(cells.get(key) ?? []), row])
  }
  return [...cells.values()].map(rows => {
    const first = rows[0] as Row
    const median = (pick: (row: Row) => number) => middle(rows.map(pick))
    const sum = (pick: (row: Row) => number) => rows.reduce((total, row) => total + pick(row), 0)
    const cpu =
      first.cpu && Object.fromEntries(Object.keys(first.cpu).map(name => [name, median(row => row.cpu?.[name] ?? 0)]))
    return {
      target: first.target,
      format: first.format,
      connections: first.connections,
      requestsPerSec: median(row => row.requestsPerSec),
      p50Ms: median(row => row.p50Ms),
      p90Ms: median(row => row.p90Ms),
      p99Ms: median(row => row.p99Ms),
      p999Ms: median(row => row.p999Ms),
      maxMs: median(row => row.maxMs),
      meanMs: median(row => row.meanMs),
      ok: sum(row => row.ok),
      non2xx: sum(row => row.non2xx),
      errors: sum(row => row.errors),
      timeouts: sum(row => row.timeouts),
      durationS: sum(row => row.durationS),
      cpu,
      rssMb: median(row => row.rssMb ?? Number.NaN),
      ttfb: first.ttfb && {
        p50Ms: median(row => row.ttfb?.p50Ms ?? Number.NaN),
        p99Ms: median(row => row.ttfb?.p99Ms ?? Number.NaN),
        requests: sum(row => row.ttfb?.requests ?? 0),
        otherCores: median(row => row.ttfb?.otherCores ?? Number.NaN),
      },
    }
  })
}

export interface CheckOptions {
  /** The concurrencies at which throughput and CPU (highest) and latency (lowest) are compared. */
  readonly high: number
  readonly low: number
  /** Parley's counters live in Redis (BENCH_PARLEY_REDIS): the lower throughput goal applies. */
  readonly redis: boolean
}

function verdict(pass: boolean): 'PASS' | 'MISS' {
  return pass ? 'PASS' : 'MISS'
}

/** Each goal that compares Parley (or the checkout before it) with the bare proxy of the same run, per format. */
export function checks(rows: readonly Row[], options: CheckOptions, subject: Subject = 'parley'): Check[] {
  const { high, low } = options
  const name = TARGET_NAMES[subject]
  const minThroughput = options.redis ? MIN_THROUGHPUT_RATIO_REDIS : MIN_THROUGHPUT_RATIO
  const out: Check[] = []
  const check = (
    name: string,
    format: Format,
    value: number,
    goal: string,
    pass: boolean,
    skewed: boolean,
    note?: string,
  ) => out.push({ name, format, value, goal, pass, verdict: verdict(pass), noisy: skewed, note })
  for (const format of ['json', 'sse'] as const) {
    const [parleyHigh, proxyHigh] = [find(rows, subject, format, high), find(rows, 'proxy', format, high)]
    if (parleyHigh && proxyHigh) {
      const skewed = noisy(parleyHigh) || noisy(proxyHigh)
      const throughput = parleyHigh.requestsPerSec / proxyHigh.requestsPerSec
      const redis = options.redis ? ' (limits in Redis)' : ''
      check(
        `throughput ${name} / bare proxy at c=${high}${redis}`,
        format,
        throughput,
        `>= ${minThroughput}`,
        throughput >= minThroughput,
        skewed,
      )
      if (parleyHigh.cpu && proxyHigh.cpu) {
        const cpu = cpuPerRequestUs(parleyHigh) / cpuPerRequestUs(proxyHigh)
        check(
          `CPU per request ${name} / bare proxy at c=${high}`,
          format,
          cpu,
          `<= ${MAX_CPU_PER_REQUEST_RATIO}`,
          cpu <= MAX_CPU_PER_REQUEST_RATIO,
          skewed,
        )
      }
    }
    // The latency goal is about one request at a time: a run at c=64 only has no cell for it.
    const [parleyLow, proxyLow] = [find(rows, subject, format, low), find(rows, 'proxy', format, low)]
    if (low === 1 && parleyLow && proxyLow) {
      const p99 = parleyLow.p99Ms - proxyLow.p99Ms
      const skewed = noisy(parleyLow) || noisy(proxyLow)
      check(
        `p99 ${name} - bare proxy at c=${low} (ms)`,
        format,
        p99,
        `<= ${MAX_P99_DELTA_MS}`,
        p99 <= MAX_P99_DELTA_MS,
        skewed,
      )
      if (parleyLow.ttfb && proxyLow.ttfb) {
        const ttfb = parleyLow.ttfb.p50Ms - proxyLow.ttfb.p50Ms
        const busy = (ttfb: Ttfb) => (ttfb.otherCores ?? 0) > NOISY_OTHER_CORES
        check(
          `TTFB p50 ${name} - bare proxy, one request at a time (ms)`,
          format,
          ttfb,
          `<= ${MAX_TTFB_P50_DELTA_MS}`,
          ttfb <= MAX_TTFB_P50_DELTA_MS,
          busy(parleyLow.ttfb) || busy(proxyLow.ttfb),
        )
      }
    }
  }
  return out
}

/**
 * Parley's resident memory, idle and at its highest under load, against absolute goals. From
 * source each server also holds the TypeScript loader (about 100 MB), so only a run of the
 * build (BENCH_PARLEY_CODE=dist) is held to them; from source the lines are `info`.
 */
export function memoryChecks(
  idleMb: number,
  loadedMb: number,
  code: 'source' | 'dist',
  subject: Subject = 'parley',
): Check[] {
  const name = TARGET_NAMES[subject]
  const note =
    code === 'dist'
      ? 'from the build'
      : 'meaningful only with BENCH_PARLEY_CODE=dist: from source the TypeScript loader adds ~100 MB'
  return [
    { what: 'RSS idle, after start and set-up (MB)', value: idleMb, goal: MAX_IDLE_RSS_MB },
    { what: 'RSS under load, highest at the end of a cell (MB)', value: loadedMb, goal: MAX_LOADED_RSS_MB },
  ]
    .filter(({ value }) => Number.isFinite(value))
    .map(({ what, value, goal }): Check => ({
      name: `${name} ${what}`,
      value,
      goal: `<= ${goal}`,
      pass: value <= goal,
      verdict: code === 'dist' ? verdict(value <= goal) : 'info',
      noisy: false,
      note,
    }))
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width)
}

/**
 * CPU time the target spent per answered request, all its threads included. Less sensitive to
 * other programs on the machine than req/s: a target that gets less CPU answers fewer
 * requests, but each still costs about the same.
 */
export function cpuPerRequestUs(row: Row): number {
  return ((row.cpu?.[row.target] ?? Number.NaN) / row.requestsPerSec) * 1e6
}

export function table(rows: readonly Row[]): string {
  const header = [
    'target',
    'format',
    'c',
    'req/s',
    'p50 µs',
    'p99 µs',
    'mean µs',
    'TTFB p50 µs',
    'TTFB p99 µs',
    'requests',
    'failed',
    'cpu target',
    'µs cpu/req',
    'RSS MB',
    'cpu mock',
    'cpu loadgen',
    'cpu other',
  ]
  const cores = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(2))
  const lines = rows.map(row => [
    TARGET_NAMES[row.target],
    row.format,
    String(row.connections),
    row.requestsPerSec.toFixed(0),
    (row.p50Ms * 1000).toFixed(0),
    (row.p99Ms * 1000).toFixed(0),
    (row.meanMs * 1000).toFixed(0),
    row.ttfb ? (row.ttfb.p50Ms * 1000).toFixed(0) : '-',
    row.ttfb ? (row.ttfb.p99Ms * 1000).toFixed(0) : '-',
    String(row.ok),
    String(row.non2xx + row.errors + row.timeouts),
    cores(row.cpu?.[row.target]),
    row.cpu?.[row.target] === undefined ? '-' : cpuPerRequestUs(row).toFixed(0),
    row.rssMb === undefined || Number.isNaN(row.rssMb) ? '-' : row.rssMb.toFixed(0),
    row.target === 'mock' ? '-' : cores(row.cpu?.mock),
    cores(row.cpu?.loadgen),
    `${cores(row.cpu?.other)}${noisy(row) ? '*' : ''}`,
  ])
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map(line => (line[i] as string).length)))
  const render = (cells: string[]) =>
    `| ${cells.map((cell, i) => pad(cell, widths[i] as number, i >= 2)).join(' | ')} |`
  const note = rows.some(noisy)
    ? [``, `* other programs used more than ${NOISY_OTHER_CORES} core during this cell: its figures are skewed`]
    : []
  return [
    render(header),
    `|${widths.map((width, i) => (i >= 2 ? `${'-'.repeat(width + 1)}:` : `${'-'.repeat(width + 2)}`)).join('|')}|`,
    ...lines.map(render),
    ...note,
  ].join('\n')
}

/**
 * Bare proxy CPU per request over each other server's (Fastify proxy, Parley), per format and
 * concurrency: the throughput ratio the two would reach if both were CPU-bound on the same CPU.
 * Printed beside the targets because it holds up better than req/s when other programs share
 * the machine.
 */
export interface CpuRatio {
  readonly target: Target
  readonly format: Format
  readonly connections: number
  readonly value: number
}

export function cpuRatios(rows: readonly Row[]): CpuRatio[] {
  const out: CpuRatio[] = []
  for (const row of rows.filter(row => row.target !== 'mock' && row.target !== 'proxy')) {
    const proxy = find(rows, 'proxy', row.format, row.connections)
    if (proxy?.cpu && row.cpu)
      out.push({
        target: row.target,
        format: row.format,
        connections: row.connections,
        value: cpuPerRequestUs(proxy) / cpuPerRequestUs(row),
      })
  }
  return out
}

/** Parley's throughput over the Fastify proxy's at the highest concurrency: what Parley's own work costs. */
export function fastifyRatios(rows: readonly Row[], high: number): Array<{ format: Format; value: number }> {
  const out: Array<{ format: Format; value: number }> = []
  for (const format of ['json', 'sse'] as const) {
    const [parley, fastify] = [find(rows, 'parley', format, high), find(rows, 'fastify', format, high)]
    if (parley && fastify) out.push({ format, value: parley.requestsPerSec / fastify.requestsPerSec })
  }
  return out
}

/**
 * Parley over the checkout before it (BENCH_BEFORE), per format and concurrency: throughput
 * (above 1: Parley answers more) and CPU per request (below 1: Parley costs less).
 */
export function beforeRatios(
  rows: readonly Row[],
): Array<{ format: Format; connections: number; throughput: number; cpu: number }> {
  return rows
    .filter(row => row.target === 'parley')
    .flatMap(parley => {
      const before = find(rows, 'before', parley.format, parley.connections)
      if (!before) return []
      const cpu = parley.cpu && before.cpu ? cpuPerRequestUs(parley) / cpuPerRequestUs(before) : Number.NaN
      const throughput = parley.requestsPerSec / before.requestsPerSec
      return [{ format: parley.format, connections: parley.connections, throughput, cpu }]
    })
}

function checkLine(check: Check): string {
  const digits = check.name.endsWith('(MB)') ? 0 : 3
  const note = check.note ? `; ${check.note}` : ''
  const skewed = check.noisy ? '  [skewed: other programs were busy]' : ''
  return `${check.verdict.padEnd(4)}  ${(check.format ?? '-').padEnd(4)} ${check.name}: ${check.value.toFixed(digits)} (goal ${check.goal}${note})${skewed}`
}

/** The PASS and MISS lines; a check that is only `info` is left for `infoLines`. */
export function verdicts(list: readonly Check[]): string {
  return list
    .filter(check => check.verdict !== 'info')
    .map(checkLine)
    .join('\n')
}

/** The `info` lines: the checks that are only `info` in this run, then the CPU and Fastify ratios. */
export function infoLines(
  list: readonly Check[],
  ratios: readonly CpuRatio[],
  vsFastify: ReturnType<typeof fastifyRatios>,
  vsBefore: ReturnType<typeof beforeRatios> = [],
): string {
  return [
    ...list.filter(check => check.verdict === 'info').map(checkLine),
    ...ratios.map(
      ratio =>
        `info  ${ratio.format.padEnd(4)} CPU per request, bare proxy / ${TARGET_NAMES[ratio.target]} at c=${ratio.connections}: ${ratio.value.toFixed(3)}`,
    ),
    ...vsFastify.map(
      ratio => `info  ${ratio.format.padEnd(4)} throughput, Parley / Fastify proxy: ${ratio.value.toFixed(3)}`,
    ),
    ...vsBefore.map(
      ratio =>
        `info  ${ratio.format.padEnd(4)} Parley / Parley before at c=${ratio.connections}: throughput ${ratio.throughput.toFixed(3)}, CPU per request ${ratio.cpu.toFixed(3)}`,
    ),
  ].join('\n')
}

export function machine(): Record<string, unknown> {
  const cpus = os.cpus()
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memory_gb: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()}`,
    node: process.version,
  }
}

export function writeResults(file: string, result: Record<string, unknown>): void {
  mkdirSync(path.dirname(file), { recursive: true })
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`)
}
