/**
 * What a run produces: the table, the two targets from the issue checked per format, and the
 * JSON file with everything needed to compare runs (machine, Node, settings, raw figures).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Measurement } from './load.js'

export type Target = 'mock' | 'proxy' | 'parley'
export type Format = 'json' | 'sse'

export interface Row extends Measurement {
  readonly target: Target
  readonly format: Format
  readonly connections: number
}

export interface Check {
  readonly name: string
  readonly format: Format
  readonly value: number
  readonly goal: string
  readonly pass: boolean
}

/** Parley's throughput is at least half the bare proxy's at c=64. */
export const MIN_THROUGHPUT_RATIO = 0.5
/** Parley adds at most 1 ms to the bare proxy's p99 at c=1. */
export const MAX_P99_DELTA_MS = 1

const TARGET_NAMES: Record<Target, string> = { mock: 'mock (direct)', proxy: 'bare proxy', parley: 'Parley' }

function find(rows: readonly Row[], target: Target, format: Format, connections: number): Row | undefined {
  return rows.find(row => row.target === target && row.format === format && row.connections === connections)
}

export function checks(rows: readonly Row[], high: number, low: number): Check[] {
  const out: Check[] = []
  for (const format of ['json', 'sse'] as const) {
    const [parleyHigh, proxyHigh] = [find(rows, 'parley', format, high), find(rows, 'proxy', format, high)]
    if (parleyHigh && proxyHigh) {
      const value = parleyHigh.requestsPerSec / proxyHigh.requestsPerSec
      out.push({ name: `throughput Parley / bare proxy at c=${high}`, format, value, goal: `>= ${MIN_THROUGHPUT_RATIO}`, pass: value >= MIN_THROUGHPUT_RATIO })
    }
    const [parleyLow, proxyLow] = [find(rows, 'parley', format, low), find(rows, 'proxy', format, low)]
    if (parleyLow && proxyLow) {
      const value = parleyLow.p99Ms - proxyLow.p99Ms
      out.push({ name: `p99 Parley - bare proxy at c=${low} (ms)`, format, value, goal: `<= ${MAX_P99_DELTA_MS}`, pass: value <= MAX_P99_DELTA_MS })
    }
  }
  return out
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width)
}

export function table(rows: readonly Row[]): string {
  const header = ['target', 'format', 'c', 'req/s', 'p50 ms', 'p99 ms', 'mean ms', 'requests', 'failed']
  const lines = rows.map(row => [
    TARGET_NAMES[row.target],
    row.format,
    String(row.connections),
    row.requestsPerSec.toFixed(0),
    row.p50Ms.toFixed(3),
    row.p99Ms.toFixed(3),
    row.meanMs.toFixed(3),
    String(row.ok),
    String(row.non2xx + row.errors + row.timeouts),
  ])
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map(line => (line[i] as string).length)))
  const render = (cells: string[]) => `| ${cells.map((cell, i) => pad(cell, widths[i] as number, i >= 2)).join(' | ')} |`
  return [render(header), `|${widths.map((width, i) => (i >= 2 ? `${'-'.repeat(width + 1)}:` : `${'-'.repeat(width + 2)}`)).join('|')}|`, ...lines.map(render)].join('\n')
}

export function verdicts(list: readonly Check[]): string {
  return list.map(check => `${check.pass ? 'PASS' : 'MISS'}  ${check.format.padEnd(4)} ${check.name}: ${check.value.toFixed(3)} (goal ${check.goal})`).join('\n')
}

export function machine(): Record<string, unknown> {
  const cpus = os.cpus()
  return { cpu: cpus[0]?.model ?? 'unknown', cores: cpus.length, memory_gb: Math.round(os.totalmem() / 2 ** 30), platform: `${os.platform()} ${os.release()}`, node: process.version }
}

export function writeResults(file: string, result: Record<string, unknown>): void {
  mkdirSync(path.dirname(file), { recursive: true })
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`)
}
