/**
 * The run's settings, read once from the environment and frozen. Every variable is optional:
 *
 * - BENCH_DURATION: seconds measured per cell (default 10).
 * - BENCH_WARMUP: seconds of load at the start of each cell, on its connections, whose answers
 *   are not counted (default 5: Parley's code needs a few seconds of load to be optimised).
 * - BENCH_CONNECTIONS: concurrencies, comma-separated (default "1,64"). The throughput target is
 *   checked at the highest, the latency target at the lowest.
 * - BENCH_TARGETS: any of "mock,proxy,fastify,parley,before" (default all four, in that order,
 *   and "before" after them when BENCH_BEFORE is set).
 * - BENCH_FORMATS: any of "json,sse" (default both).
 * - BENCH_ROUNDS: how many times the whole matrix runs (default 1). With more, each cell reports
 *   the median of its rounds, and rounds interleave the targets in time, so a noisy minute on a
 *   shared machine skews one round of every target rather than all of one.
 * - BENCH_PROFILE: targets whose CPU is profiled during their measurements ("1" means
 *   "parley"). The profiler slows its target: such a run's figures are not the reference ones.
 * - BENCH_PARLEY_CODE: "source" (default; the TypeScript sources through the loader, as the
 *   tests run them) or "dist" (the output of `npm run build`, as `npm start` runs it).
 * - BENCH_PARLEY_FLAGS: extra Node flags for the Parley process, e.g. "--max-semi-space-size=32".
 * - BENCH_PARLEY_LOG: Parley's log level (default "warn"). At "info" Parley logs a line per
 *   request to the runner's standard output.
 * - BENCH_PARLEY_REDIS: a Redis URL for Parley's limit counters, KV and jobs (several instances'
 *   way); the throughput goal is then the lower one.
 * - BENCH_PARLEY_DATABASE: a MySQL/MariaDB server URL: each Parley gets a database of its own
 *   there (made before it starts, dropped at the end) instead of SQLite in its process, so its
 *   usage rows are written by the database server. The server is not pinned.
 * - BENCH_OUT: where the JSON results go (default bench/results/latest.json).
 * - BENCH_TTFB_REQUESTS: requests timed by the time-to-first-byte probe that follows each
 *   target's cell at the lowest concurrency (ttfb.ts; default 2000, 0 leaves the probe out).
 * - BENCH_TTFB_WARMUP: requests the probe sends first on its new connection, not counted
 *   (default 200).
 * - BENCH_BEFORE: the folder of another checkout of Parley (an earlier commit), installed and
 *   built (`npm ci && npm run build` there): it runs as a fifth target, "before", from its own
 *   bench/parley-server.ts and its own build, with the settings Parley gets, so the code of two
 *   commits is compared in one run on the same machine. Needs BENCH_PARLEY_CODE=dist: both run
 *   from their builds.
 * - BENCH_BEFORE_FLAGS: extra Node flags for the "before" target instead of BENCH_PARLEY_FLAGS
 *   (default: the same). With BENCH_BEFORE pointing at this very checkout, two Node settings
 *   of the same code run side by side, e.g. BENCH_BEFORE_FLAGS=--max-semi-space-size=16.
 * - BENCH_PIN: "0" leaves every process free to run on any core (default: the servers under
 *   test on one core, the load generator and the mock on the others; placement.ts).
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Format, Target } from './report.js'

const DEFAULT_DURATION_S = 10
const DEFAULT_WARMUP_S = 5
const DEFAULT_CONNECTIONS = '1,64'
const DEFAULT_ROUNDS = 1
const DEFAULT_TTFB_REQUESTS = 2000
const DEFAULT_TTFB_WARMUP = 200
const TARGETS = ['mock', 'proxy', 'fastify', 'parley', 'before'] as const
const FORMATS = ['json', 'sse'] as const
const CODE = ['source', 'dist'] as const
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

export const RESULTS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results')

export interface BenchSettings {
  readonly durationS: number
  readonly warmupS: number
  readonly connections: readonly number[]
  readonly targets: readonly Target[]
  readonly formats: readonly Format[]
  readonly rounds: number
  readonly profile: readonly Target[]
  readonly parleyCode: (typeof CODE)[number]
  readonly parleyFlags: readonly string[]
  readonly parleyLog: (typeof LOG_LEVELS)[number]
  /** A Redis URL: Parley's limit counters, KV and jobs on it (a deployment of several instances). */
  readonly parleyRedis: string | undefined
  /** A MySQL/MariaDB server URL: each Parley keeps its data (usage rows too) in a database of its own there. */
  readonly parleyDatabase: string | undefined
  /** Another checkout of Parley, run as the target "before" (BENCH_BEFORE). */
  readonly before: string | undefined
  /** Extra Node flags for the "before" target (BENCH_BEFORE_FLAGS; default `parleyFlags`). */
  readonly beforeFlags: readonly string[]
  /** Requests timed by the TTFB probe after each lowest-concurrency cell; 0: no probe. */
  readonly ttfbRequests: number
  readonly ttfbWarmup: number
  readonly out: string
  readonly pin: boolean
}

function list<T extends string>(env: NodeJS.ProcessEnv, name: string, fallback: string, allowed: readonly T[]): T[] {
  const values = (env[name] ?? fallback)
    .split(',')
    .map(value => value.trim())
    .filter(Boolean)
  for (const value of values)
    if (!allowed.includes(value as T))
      throw new Error(`${name}: unknown value "${value}" (one of ${allowed.join(', ')})`)
  return values as T[]
}

/** Node flags separated by white space. */
function flagsOf(value: string | undefined): string[] {
  return (value ?? '').split(/\s+/).filter(Boolean)
}

function seconds(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = Number(env[name] ?? fallback)
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name}: a number of seconds, not "${env[name]}"`)
  return value
}

function count(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = Number(env[name] ?? fallback)
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name}: a number of requests, not "${env[name]}"`)
  return value
}

export function readSettings(env: NodeJS.ProcessEnv = process.env): BenchSettings {
  const connections = (env.BENCH_CONNECTIONS ?? DEFAULT_CONNECTIONS).split(',').map(Number)
  if (connections.some(c => !Number.isInteger(c) || c < 1))
    throw new Error('BENCH_CONNECTIONS: positive integers, comma-separated')
  const durationS = seconds(env, 'BENCH_DURATION', DEFAULT_DURATION_S)
  if (durationS === 0) throw new Error('BENCH_DURATION: at least one second')
  const rounds = Number(env.BENCH_ROUNDS ?? DEFAULT_ROUNDS)
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('BENCH_ROUNDS: a positive integer')
  const before = env.BENCH_BEFORE ? path.resolve(env.BENCH_BEFORE) : undefined
  const defaults = TARGETS.filter(target => target !== 'before' || before !== undefined)
  const targets = list(env, 'BENCH_TARGETS', defaults.join(','), TARGETS)
  if (targets.includes('before') && !before) throw new Error('BENCH_TARGETS: "before" needs BENCH_BEFORE')
  const parleyCode = list(env, 'BENCH_PARLEY_CODE', 'source', CODE)[0] ?? 'source'
  if (before && parleyCode !== 'dist')
    throw new Error('BENCH_BEFORE: set BENCH_PARLEY_CODE=dist too (both from their builds)')
  return Object.freeze({
    durationS,
    warmupS: seconds(env, 'BENCH_WARMUP', DEFAULT_WARMUP_S),
    connections,
    targets,
    formats: list(env, 'BENCH_FORMATS', FORMATS.join(','), FORMATS),
    rounds,
    profile: env.BENCH_PROFILE === '1' ? ['parley' as const] : list(env, 'BENCH_PROFILE', '', TARGETS),
    parleyCode,
    parleyFlags: flagsOf(env.BENCH_PARLEY_FLAGS),
    beforeFlags: flagsOf(env.BENCH_BEFORE_FLAGS ?? env.BENCH_PARLEY_FLAGS),
    parleyLog: list(env, 'BENCH_PARLEY_LOG', 'warn', LOG_LEVELS)[0] ?? 'warn',
    parleyRedis: env.BENCH_PARLEY_REDIS || undefined,
    parleyDatabase: env.BENCH_PARLEY_DATABASE || undefined,
    before,
    ttfbRequests: count(env, 'BENCH_TTFB_REQUESTS', DEFAULT_TTFB_REQUESTS),
    ttfbWarmup: count(env, 'BENCH_TTFB_WARMUP', DEFAULT_TTFB_WARMUP),
    out: path.resolve(env.BENCH_OUT ?? path.join(RESULTS_DIR, 'latest.json')),
    pin: env.BENCH_PIN !== '0',
  })
}
