/**
 * Parley as a deployment runs it, in a child process: SQLite in a temporary directory (or a
 * MySQL/MariaDB database with `BENCH_DATABASE_URL`), the identity, openai and rate-limit
 * plugins, auth on, limits on (every call counted per user and per channel in memory, as
 * without Redis, or in Redis with `BENCH_REDIS_URL`; the user limit set high enough never to
 * refuse), usage logging on (it always is), metrics on (the default), V8 set up as the `parley` command
 * sets it (`tuneProcessForGateway`, and `releaseStartupMemory` before it listens). Loopback
 * upstreams are admitted (`upstream.allow_loopback`) because the mock listens on 127.0.0.1.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createGateway, loadConfig, releaseStartupMemory, tuneProcessForGateway } from '@parley/core'
import identity from '@parley/identity'
import openai from '@parley/openai'
import rateLimit from '@parley/rate-limit'
import { announce, onStop } from './child.js'

// As the `parley` command does before anything else.
tuneProcessForGateway()

const admin = {
  username: process.env.BENCH_ADMIN_USERNAME ?? 'bench-admin',
  password: process.env.BENCH_ADMIN_PASSWORD ?? '',
}
if (admin.password === '') throw new Error('BENCH_ADMIN_PASSWORD is required')

const dataDir = mkdtempSync(path.join(tmpdir(), 'parley-bench-'))
// The runner deletes what is left under the prefix when the bench ends.
const redisUrl = process.env.BENCH_REDIS_URL
const redisPrefix = process.env.BENCH_REDIS_PREFIX ?? 'parley-bench:'
// A MySQL/MariaDB database the runner made for this process (and drops); else SQLite in dataDir.
const databaseUrl = process.env.BENCH_DATABASE_URL
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
    // Counted on every call, never reached: the bench measures the cost of limiting, not refusals.
    settings: { user_rpm: 1_000_000 },
    // The mock upstream listens on 127.0.0.1.
    upstream: { allow_loopback: true },
    ...(redisUrl ? { redis: { url: redisUrl, prefix: redisPrefix } } : {}),
    ...(databaseUrl ? { database: { url: databaseUrl } } : {}),
  },
})
const gateway = await createGateway({ config, plugins: [identity, openai, rateLimit] })
// As `parley start` does between start and listen.
await gateway.start()
await releaseStartupMemory()
announce(await gateway.listen({ port: 0, host: '127.0.0.1' }))
onStop(async () => {
  try {
    await gateway.stop()
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
})
