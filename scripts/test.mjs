#!/usr/bin/env node
// `npm test`: find out which real services are reachable, tell the test files through
// PARLEY_TEST_* variables, run tap, and say loudly what was skipped and how to enable it.
// With PARLEY_REQUIRE_SERVICES=1 (set by .ci/run) a missing service fails the run instead.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import net from 'node:net'

const services = [
  {
    name: 'Redis',
    env: 'PARLEY_TEST_REDIS_URL',
    fallback: 'redis://127.0.0.1:6379',
    suites:
      'Redis KV driver, BullMQ jobs driver, cross-instance settings and caches, shared rate limits, the Coze token cache, the retention job on BullMQ',
  },
  {
    name: 'MySQL/MariaDB',
    env: 'PARLEY_TEST_MYSQL_URL',
    fallback: 'mysql://root@127.0.0.1:3306/test',
    suites: 'MySQL migrations and schema checks, MySQL gateway tests',
  },
]

function reachable(url, timeoutMs = 1500) {
  const { hostname, port } = new URL(url)
  return new Promise(resolve => {
    const socket = net.connect({ host: hostname, port: Number(port) })
    const done = ok => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

const required = process.env.PARLEY_REQUIRE_SERVICES === '1'
const skipped = []
// Not a server but the same deal: the portal's browser tests need Debian's chromium.
const chromium = process.env.PARLEY_CHROMIUM || '/usr/bin/chromium'
if (!existsSync(chromium)) {
  skipped.push({
    name: 'Chromium',
    url: chromium,
    env: 'PARLEY_CHROMIUM',
    suites: 'the browser tests of the portal and the console (plugins/portal/test, plugins/admin/test)',
    enable: 'apt-get install -y chromium',
  })
}
for (const service of services) {
  const url = process.env[service.env] || service.fallback
  if (await reachable(url)) {
    process.env[service.env] = url
  } else {
    delete process.env[service.env]
    skipped.push({ ...service, url })
  }
}

function banner() {
  if (skipped.length === 0) return
  const lines = ['', '#'.repeat(78), '# SKIPPED: some suites need services this machine does not offer', '#']
  for (const s of skipped) {
    lines.push(`#  - ${s.name} not reachable at ${s.url}`)
    lines.push(`#    skipped: ${s.suites}`)
    lines.push(`#    enable:  ${s.enable ?? 'start it'}, or set ${s.env}=<${s.enable ? 'path' : 'url'}>`)
  }
  lines.push('#'.repeat(78), '')
  console.error(lines.join('\n'))
}

if (skipped.length > 0 && required) {
  banner()
  console.error('PARLEY_REQUIRE_SERVICES=1: refusing to run with services missing.')
  process.exit(1)
}
banner()

const child = spawn('npx', ['tap', ...process.argv.slice(2)], { stdio: 'inherit', env: process.env })
child.on('exit', (code, signal) => {
  banner()
  process.exit(signal ? 1 : (code ?? 1))
})
