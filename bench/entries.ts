/**
 * How each server of the bench is started. From source (the default) every child runs its
 * TypeScript through the same loader as the tests, which holds the TypeScript compiler: about
 * 100 MB of each child's resident memory. With `BENCH_PARLEY_CODE=dist` the servers' entry
 * files are bundled once by esbuild (their packages left as imports, so `@parley/*` resolves to
 * the output of `npm run build`) and run by plain `node`, as in production: their RSS is then
 * theirs alone.
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { RESULTS_DIR } from './settings.js'

export const ENTRIES = ['mock-upstream', 'bare-proxy', 'fastify-proxy', 'parley-server'] as const
export type Entry = (typeof ENTRIES)[number]

export interface Launch {
  readonly file: string
  readonly execArgv: string[]
}

/**
 * What Parley's process gets besides its code, as `npm start` and the image run it
 * (docs/getting-started.md, "Memory"): the Node flags go before any of `BENCH_PARLEY_FLAGS`,
 * which can therefore override them; the environment is added to the child's.
 */
export const PARLEY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8']
export const PARLEY_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '131072' }

const OUT_DIR = path.join(RESULTS_DIR, 'build')

const BUNDLE = {
  bundle: true,
  packages: 'external',
  platform: 'node',
  format: 'esm',
  target: 'node22',
  outExtension: { '.js': '.mjs' },
  logLevel: 'warning',
} as const

/** Where each entry is and with which Node flags it runs; bundles them first for `dist`. */
export async function launchers(code: 'source' | 'dist'): Promise<Record<Entry, Launch>> {
  const here = path.dirname(fileURLToPath(import.meta.url))
  if (code === 'source')
    return Object.fromEntries(
      ENTRIES.map(name => [name, { file: path.join(here, `${name}.ts`), execArgv: process.execArgv }]),
    ) as Record<Entry, Launch>
  await build({
    ...BUNDLE,
    entryPoints: ENTRIES.map(name => path.join(here, `${name}.ts`)),
    outdir: OUT_DIR,
  })
  return Object.fromEntries(
    ENTRIES.map((name): [Entry, Launch] => [name, { file: path.join(OUT_DIR, `${name}.mjs`), execArgv: [] }]),
  ) as Record<Entry, Launch>
}

/**
 * Another checkout's Parley (BENCH_BEFORE): its own bench/parley-server.ts, bundled into its own
 * bench/results/build, so that its `@parley/*` imports resolve to that checkout's build.
 */
export async function beforeLauncher(checkout: string): Promise<Launch> {
  const outdir = path.join(checkout, 'bench', 'results', 'build')
  await build({ ...BUNDLE, entryPoints: [path.join(checkout, 'bench', 'parley-server.ts')], outdir })
  return { file: path.join(outdir, 'parley-server.mjs'), execArgv: [] }
}
