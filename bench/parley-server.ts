/**
 * Parley as a deployment runs it, in a child process: SQLite in a temporary directory, the
 * identity and openai plugins, auth on, usage logging on (it always is), metrics on (the
 * default). The real limits plugin does not exist yet, so a stand-in policy that always allows
 * is registered: the pipeline still walks the limits hook for the caller and for the channel.
 * Loopback upstreams are admitted because the mock listens on 127.0.0.1.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createGateway, definePlugin, loadConfig } from '@parley/core'
import identity from '@parley/identity'
import openai from '@parley/openai'
import { announce, onStop } from './child.js'

const admin = { username: process.env.BENCH_ADMIN_USERNAME ?? 'bench-admin', password: process.env.BENCH_ADMIN_PASSWORD ?? '' }
if (admin.password === '') throw new Error('BENCH_ADMIN_PASSWORD is required')

const benchLimits = definePlugin({
  id: 'bench-limits',
  version: '0.1.0',
  core: '^0.1.0',
  description: 'Stand-in limit policy: always allows, but with numbers, so the rate headers are written',
  setup(ctx) {
    ctx.limits.register('bench', { check: async () => ({ allowed: true, limit: 1_000_000, remaining: 999_999, resetMs: 60_000 }) })
  },
})

const dataDir = mkdtempSync(path.join(tmpdir(), 'parley-bench-'))
const config = loadConfig({
  file: false,
  env: {},
  cwd: dataDir,
  overrides: {
    env: 'production',
    data_dir: dataDir,
    log: { level: process.env.BENCH_LOG_LEVEL ?? 'warn' },
    server: { host: '127.0.0.1', port: 0 },
    secrets: { secret_key: randomBytes(32).toString('hex'), encryption_key: randomBytes(32).toString('hex') },
    admin,
  },
})
const gateway = await createGateway({ config, plugins: [identity, openai, benchLimits], allowLoopbackUpstreams: true })
announce(await gateway.listen({ port: 0, host: '127.0.0.1' }))
onStop(async () => {
  try {
    await gateway.stop()
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
})
