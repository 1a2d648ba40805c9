/*
 * The product as the README ships it: each shipped configuration, with every plugin it lists,
 * started the way an operator starts it (`parley start` in its own process), asked for its
 * pages, and stopped with SIGTERM. A plugin that only works alone fails here.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'
import { buildConsole } from '@parley/admin'
import { createTempMysqlDatabase, freePort, missingService, testServices } from '@parley/core/testing'
import { buildClient } from '@parley/portal'
import { buildWidget } from '@parley/widget'

const ROOT = path.resolve(import.meta.dirname, '..')
/** The TypeScript loader tap uses: the CLI runs from its sources, as every test does. */
const TS_LOADER = path.join(ROOT, 'node_modules/@tapjs/typescript/dist/esm/import.mjs')
const BOOT_TIMEOUT_MS = 60_000

interface Started {
  readonly url: string
  readonly child: ChildProcess
  readonly output: () => string
}

/** `node [flags] <script> start` from the repository root, as `npm start` and the image run it. */
async function start(script: string, env: Record<string, string>, nodeFlags: readonly string[] = []): Promise<Started> {
  const port = await freePort()
  const source = script.replace(/^core\/dist\/(.*)\.js$/, 'core/src/$1.ts')
  const args = [...nodeFlags, '--conditions=parley-source', '--import', TS_LOADER, source, 'start']
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', TS_NODE_TRANSPILE_ONLY: '1', ...env, APP_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', chunk => (output += chunk))
  child.stderr?.on('data', chunk => (output += chunk))
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + BOOT_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode} before answering:\n${output}`)
    const ok = await fetch(`${url}/healthz`).then(
      response => response.ok,
      () => false,
    )
    if (ok) return { url, child, output: () => output }
    await new Promise(resolve => setTimeout(resolve, 250))
  }
  child.kill('SIGKILL')
  throw new Error(`no answer on /healthz within ${BOOT_TIMEOUT_MS} ms:\n${output}`)
}

/** SIGTERM, then the exit code (SIGKILL after 30 s, which fails the test). */
function stop(child: ChildProcess): Promise<number | null> {
  return new Promise(resolve => {
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.once('exit', code => {
      clearTimeout(killer)
      resolve(code)
    })
    child.kill('SIGTERM')
  })
}

/** What every shipped config must answer: alive, the portal, the console (its sign-in), the API docs. */
async function checkPages(t: Test, started: Started, docs: boolean): Promise<void> {
  t.same(await fetch(`${started.url}/healthz`).then(r => r.json()), { status: 'ok' }, '/healthz')
  const home = await fetch(`${started.url}/`)
  t.equal(home.status, 200, '/ answers')
  t.match(home.headers.get('content-type'), /text\/html/)
  t.match(await home.text(), /<html/i)
  const admin = await fetch(`${started.url}/admin`, { redirect: 'manual' })
  t.equal(admin.status, 302, '/admin sends a visitor to sign in')
  const login = await fetch(new URL(admin.headers.get('location') ?? '', started.url))
  t.equal(login.status, 200, 'the console sign-in page answers')
  t.match(await login.text(), /<form/i)
  const apiDocs = await fetch(`${started.url}/docs`)
  t.equal(apiDocs.status, docs ? 200 : 404, docs ? '/docs answers' : '/docs is off in production')
  t.equal((await fetch(`${started.url}/metrics`)).status, 200, '/metrics answers the host itself')
}

t.before(async () => {
  // What `npm run build` does for the front ends; the pages link these bundles.
  await Promise.all([buildClient(), buildConsole(), buildWidget()])
})

t.test('config/default.yaml: SQLite, every default plugin', async t => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'parley-shipped-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const started = await start('core/dist/cli/main.js', { PARLEY_CONFIG: 'config/default.yaml', DATA_DIR: dataDir })
  t.teardown(() => started.child.kill('SIGKILL'))
  await checkPages(t, started, true)
  t.equal(await stop(started.child), 0, 'SIGTERM stops it cleanly')
  t.match(started.output(), /stopping: draining requests/)
})

t.test(
  'config/production.example.yaml: MariaDB and Redis',
  { skip: missingService('mysql') || missingService('redis') },
  async t => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'parley-shipped-'))
    const database = await createTempMysqlDatabase(testServices.mysqlUrl as string)
    t.teardown(async () => {
      await database.drop()
      rmSync(dataDir, { recursive: true, force: true })
    })
    const started = await start('core/dist/cli/main.js', {
      PARLEY_CONFIG: 'config/production.example.yaml',
      DATA_DIR: dataDir,
      DATABASE_URL: database.url,
      REDIS_URL: testServices.redisUrl as string,
      REDIS_PREFIX: `parley-shipped-${randomBytes(4).toString('hex')}:`,
      SECRET_KEY: randomBytes(32).toString('hex'),
      ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      ADMIN_PASSWORD: randomBytes(12).toString('hex'),
    })
    t.teardown(() => started.child.kill('SIGKILL'))
    await checkPages(t, started, false)
    t.equal(await stop(started.child), 0, 'SIGTERM stops it cleanly')
  },
)

t.test("the Dockerfile's command with its environment", async t => {
  const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '))
  const command = JSON.parse(/^CMD (\[.*\])$/m.exec(runtime)?.[1] ?? '[]') as string[]
  t.same(command.slice(0, 1), ['node'], 'the image runs node')
  // Node's own flags (the memory settings, docs/getting-started.md), then the CLI and `start`.
  const flags = command.slice(1).filter(arg => arg.startsWith('--'))
  t.same(command.slice(1 + flags.length), ['core/dist/cli/main.js', 'start'])
  const npmStart = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } })
    .scripts.start
  t.match(
    npmStart,
    `node ${[...flags, 'core/dist/cli/main.js', 'start'].join(' ')}`,
    'npm start gives Node the same flags',
  )
  const env = Object.fromEntries(
    [...(/^ENV (.*)$/m.exec(runtime)?.[1] ?? '').matchAll(/(\w+)=(\S+)/g)].map(m => [m[1], m[2]]),
  )
  t.match(env, { NODE_ENV: 'production', DATA_DIR: '/data' })
  const dataDir = mkdtempSync(path.join(tmpdir(), 'parley-shipped-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  // As `docker run -e SECRET_KEY=… -e ENCRYPTION_KEY=…` with a volume on /data (here a temp dir).
  const started = await start(
    command[1 + flags.length] as string,
    {
      ...env,
      DATA_DIR: dataDir,
      SECRET_KEY: randomBytes(32).toString('hex'),
      ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    },
    flags,
  )
  t.teardown(() => started.child.kill('SIGKILL'))
  await checkPages(t, started, false)
  t.equal(await stop(started.child), 0, 'SIGTERM stops it cleanly')
})
