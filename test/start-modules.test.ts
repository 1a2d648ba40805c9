/*
 * What `parley start` loads with the shipped config: the packages that only some deployments
 * or moments use (the migrator, BullMQ, the AWS SDK, nodemailer, the common-password list) and
 * the development tools must not be
 * in a gateway that does not use them; each costs megabytes of resident memory for its life
 * (bench/NOTES.md, "Memory at start"). A module hook in the started process records the
 * package of every module it loads and writes them out when the process exits.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { freePort } from '@parley/core/testing'

const ROOT = path.resolve(import.meta.dirname, '..')
const TS_LOADER = path.join(ROOT, 'node_modules/@tapjs/typescript/dist/esm/import.mjs')
const BOOT_TIMEOUT_MS = 60_000

/** Records the package (`node_modules/<name>/`) of every module loaded after it; written at exit. */
const MODULE_LOG_HOOK = `data:text/javascript,${encodeURIComponent(`
import { registerHooks } from 'node:module'
import { writeFileSync } from 'node:fs'
const packages = new Set()
registerHooks({
  load(url, context, next) {
    const match = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(url)
    if (match) packages.add(match[1])
    return next(url, context)
  },
})
process.on('exit', () => writeFileSync(process.env.MODULE_LOG, [...packages].join('\\n')))
`)}`

/** Only for deployments that configure them, or never at runtime (the dev tools). */
const NOT_AT_START = [
  '@mikro-orm/migrations',
  'umzug',
  'bullmq',
  '@aws-sdk/client-s3',
  '@aws-sdk/s3-request-presigner',
  'nodemailer',
  // Read when a password is set: the first start's admin, not a restart.
  '@zxcvbn-ts/language-common',
  'playwright-core',
  'esbuild',
  'tap',
]

/** `parley start` with config/default.yaml until /healthz answers, then SIGTERM; the packages it loaded. */
async function packagesOfStart(dataDir: string): Promise<string[]> {
  const port = await freePort()
  const log = path.join(dataDir, `modules-${port}.txt`)
  const child = spawn(
    process.execPath,
    ['--conditions=parley-source', '--import', TS_LOADER, '--import', MODULE_LOG_HOOK, 'core/src/cli/main.ts', 'start'],
    {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        TS_NODE_TRANSPILE_ONLY: '1',
        PARLEY_CONFIG: 'config/default.yaml',
        DATA_DIR: dataDir,
        APP_PORT: String(port),
        MODULE_LOG: log,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  )
  let errors = ''
  child.stderr.on('data', chunk => (errors += chunk))
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
  try {
    const deadline = Date.now() + BOOT_TIMEOUT_MS
    for (;;) {
      if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode} before answering:\n${errors}`)
      if (Date.now() > deadline) throw new Error(`no answer on /healthz within ${BOOT_TIMEOUT_MS} ms:\n${errors}`)
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        response => response.ok,
        () => false,
      )
      if (ok) break
      await new Promise(resolve => setTimeout(resolve, 250))
    }
  } catch (error) {
    child.kill('SIGKILL')
    throw error
  }
  child.kill('SIGTERM')
  if ((await exited) !== 0) throw new Error(`SIGTERM did not stop it cleanly:\n${errors}`)
  return readFileSync(log, 'utf8').split('\n')
}

t.test('config/default.yaml loads the migrator to migrate, and nothing it does not use on a restart', async t => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'parley-start-modules-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))

  const first = await packagesOfStart(dataDir)
  t.ok(first.includes('fastify') && first.includes('@mikro-orm/core'), 'the hook sees the packages the gateway loads')
  t.ok(first.includes('@mikro-orm/migrations'), 'the first start has tables to create: it loads the migrator')

  const restart = await packagesOfStart(dataDir)
  t.ok(restart.includes('@mikro-orm/sqlite'), 'the restart opened the database')
  // ioredis is not listed: the rate-limit plugin imports it with its Redis counter.
  t.same(
    NOT_AT_START.filter(name => restart.includes(name)),
    [],
    'a restart with nothing to migrate, no Redis, no S3 and no mail loads none of them',
  )
})
