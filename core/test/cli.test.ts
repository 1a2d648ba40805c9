import { EventEmitter } from 'node:events'
import path from 'node:path'
import { PassThrough } from 'node:stream'
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import t from 'tap'
import { freePort } from '@parley/core/testing'
import { runCli } from '../src/cli/run.js'

// Each run reads an empty config file of its own, never the repository's config/default.yaml.
const emptyConfig = path.join(mkdtempSync(path.join(tmpdir(), 'parley-cli-')), 'empty.yaml')
writeFileSync(emptyConfig, 'plugins: []\n')

function io(env: Record<string, string>, signals?: EventEmitter) {
  const out = new PassThrough()
  const err = new PassThrough()
  let stdout = ''
  let stderr = ''
  out.on('data', chunk => (stdout += chunk))
  err.on('data', chunk => (stderr += chunk))
  return {
    io: { out, err, env: { LOG_LEVEL: 'silent', PARLEY_CONFIG: emptyConfig, ...env }, signals },
    text: () => ({ stdout, stderr }),
  }
}

t.test('help and unknown commands', async t => {
  const help = io({})
  t.equal(await runCli(['help'], help.io), 0)
  t.match(help.text().stdout, /start.*migrate.*doctor/s)
  const unknown = io({ DATA_DIR: t.testdir() })
  t.equal(await runCli(['frobnicate'], unknown.io), 2)
  t.match(unknown.text().stderr, /unknown command "frobnicate"/)
})

t.test('migrate applies pending migrations once', async t => {
  const env = { DATA_DIR: t.testdir() }
  const first = io(env)
  t.equal(await runCli(['migrate'], first.io), 0)
  t.match(
    first.text().stdout,
    /Applied 11 migration\(s\):\n\s+core\/0001_system_config\n\s+core\/0002_catalog\n\s+core\/0003_usage_logs\n\s+core\/0004_blocklist\n\s+core\/0005_usage_stats\n\s+core\/0006_channel_image_delivery\n\s+core\/0007_channel_key_disable\n\s+core\/0008_channel_timeouts\n\s+core\/0009_usage_log_filters\n\s+core\/0010_usage_user_totals\n\s+core\/0011_usage_user_index/,
  )
  const second = io(env)
  t.equal(await runCli(['migrate'], second.io), 0)
  t.match(second.text().stdout, /up to date/)
})

t.test('migrate includes plugins named in PARLEY_CONFIG', async t => {
  const dir = t.testdir()
  const fixture = path.resolve(import.meta.dirname, 'fixtures/notes-plugin/index.ts')
  writeFileSync(path.join(dir, 'parley.yaml'), `plugins:\n  - ${JSON.stringify(fixture)}\n`)
  const run = io({ DATA_DIR: dir, PARLEY_CONFIG: path.join(dir, 'parley.yaml') })
  t.equal(await runCli(['migrate'], run.io), 0)
  t.match(run.text().stdout, /notes\/0001_notes/)
})

t.test('a bad value stops with a message naming key, value, source and expectation', async t => {
  const run = io({ DATA_DIR: t.testdir(), APP_PORT: 'eighty' })
  t.equal(await runCli(['start'], run.io), 1)
  const { stderr } = run.text()
  t.match(stderr, /server\.port = "eighty" \(from environment variable APP_PORT\): expected an integer from 0 to 65535/)
  t.match(stderr, /PARLEY_ERR_CONFIG_INVALID/)
  t.notMatch(stderr, /\n\s+at /, 'no stack trace for a configuration mistake')
})

t.test('doctor explains what is fine and what is not', async t => {
  const dataDir = t.testdir()
  const fresh = io({ DATA_DIR: dataDir })
  t.equal(await runCli(['doctor'], fresh.io), 0)
  t.match(
    fresh.text().stdout,
    /ok\s+Configuration.*\nok\s+Data directory.*\nok\s+Secrets.*\nok\s+Plugins.*\nok\s+Redis.*\nok\s+Database — no SQLite file yet/s,
  )
  t.same(readdirSync(dataDir), [], 'doctor writes nothing: no secrets file, no database')

  t.equal(await runCli(['migrate'], io({ DATA_DIR: dataDir }).io), 0)
  const migrated = io({ DATA_DIR: dataDir })
  t.equal(await runCli(['doctor'], migrated.io), 0)
  t.match(migrated.text().stdout, /ok\s+Database — sqlite at .*parley\.db answers; schema up to date/)
  t.match(migrated.text().stdout, /ok\s+Event loop — p99 \d+\.\d ms over 500 ms idle/)

  const port = await freePort()
  const bad = io({ DATA_DIR: t.testdir(), DATABASE_URL: `mysql://root:hunter2@127.0.0.1:${port}/parley` })
  t.equal(await runCli(['doctor'], bad.io), 1)
  const { stdout } = bad.text()
  t.match(stdout, /FAIL\s+Database — Database not reachable/)
  t.notMatch(stdout, /hunter2/, 'no password in the report')
  t.match(stdout, /1 problem\(s\) found/)
  t.match(stdout, /ok\s+Plugins/, 'later checks still ran')

  const prod = io({ DATA_DIR: t.testdir(), NODE_ENV: 'production' })
  t.equal(await runCli(['doctor'], prod.io), 1)
  t.match(prod.text().stdout, /FAIL\s+Secrets — SECRET_KEY and ENCRYPTION_KEY missing/)
})

t.test('doctor sets the plugins up together and reports a setup failure', async t => {
  const dir = t.testdir()
  const fixtures = path.resolve(import.meta.dirname, 'fixtures/clash-plugins')
  const plugins = ['home.ts', 'twin.ts'].map(file => `  - ${JSON.stringify(path.join(fixtures, file))}`).join('\n')
  writeFileSync(path.join(dir, 'parley.yaml'), `plugins:\n${plugins}\n`)
  const run = io({ DATA_DIR: path.join(dir, 'data'), PARLEY_CONFIG: path.join(dir, 'parley.yaml') })
  t.equal(await runCli(['doctor'], run.io), 1)
  const { stdout } = run.text()
  t.match(stdout, /ok\s+Plugins — clash-home@1\.0\.0, clash-twin@1\.0\.0/, 'each plugin loads on its own')
  t.match(
    stdout,
    /FAIL\s+Plugin setup — Plugin clash-twin failed during setup: PARLEY_ERR_REGISTRY_CONFLICT: UI page "home" of clash-twin has the path "\/" of UI page "home" of clash-home/,
  )
  t.same(readdirSync(dir), ['parley.yaml'], 'no database left behind')
})

t.test('start serves until SIGTERM, then stops cleanly', async t => {
  const port = await freePort()
  const signals = new EventEmitter()
  const run = io({ DATA_DIR: t.testdir(), APP_PORT: String(port) }, signals)
  const exit = runCli(['start'], run.io)
  let health: Response | undefined
  for (let i = 0; i < 100 && !health; i++) {
    health = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined)
    if (!health) await new Promise(r => setTimeout(r, 50))
  }
  t.equal(health?.status, 200)
  signals.emit('SIGTERM')
  t.equal(await exit, 0)
  await t.rejects(fetch(`http://127.0.0.1:${port}/healthz`), 'no longer listening')
})

t.test('doctor says whether loopback upstreams are admitted, and by what', async t => {
  const off = io({ DATA_DIR: t.testdir() })
  t.equal(await runCli(['doctor'], off.io), 0)
  t.match(
    off.text().stdout,
    /ok\s+Upstream addresses — loopback upstreams are refused; a model server on this host needs UPSTREAM_ALLOW_LOOPBACK=1/,
  )
  const on = io({ DATA_DIR: t.testdir(), UPSTREAM_ALLOW_LOOPBACK: '1' })
  t.equal(await runCli(['doctor'], on.io), 0)
  t.match(
    on.text().stdout,
    /ok\s+Upstream addresses — loopback upstreams are admitted \(upstream\.allow_loopback, from environment variable UPSTREAM_ALLOW_LOOPBACK\).*link-local and metadata addresses stay refused/,
  )
})
