import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import identity from '@parley/identity'
import type { Gateway } from '@parley/core'
import { createTestGateway, freePort } from '@parley/core/testing'

// A Redis that stops answering (paused, overloaded, a network that drops packets) must not
// hang sign-in: every Redis call on the identity request path has a deadline and a clear
// outcome. The test runs its own redis-server (never the shared one) and freezes it with
// SIGSTOP: connections stay open and replies simply never come.

const REDIS_SERVER = '/usr/bin/redis-server'
const ADMIN = { username: 'admin', password: 'admin-password-0' }
const PASSWORD = 'correct-horse-battery'
/** The KV driver's command deadline is 1.5 s; a call that takes longer than this hung. */
const BOUND_MS = 4_000

t.test(
  'sign-in, refresh and admin requests answer promptly while Redis is frozen',
  { skip: existsSync(REDIS_SERVER) ? false : `${REDIS_SERVER} is not installed` },
  async t => {
    const port = await freePort()
    const redis = spawn(
      REDIS_SERVER,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    )
    t.teardown(() => stop(redis))
    await listening(port)

    const gateway = await createTestGateway({
      plugins: [identity],
      redisUrl: `redis://127.0.0.1:${port}`,
      config: { admin: ADMIN },
    })
    t.teardown(gateway.close)
    t.equal(gateway.kv.kind, 'redis')
    const registered = await post(gateway, '/api/auth/register', {
      email: 'ada@example.com',
      username: 'Ada',
      password: PASSWORD,
      password_confirm: PASSWORD,
    })
    t.equal(registered.statusCode, 201)
    const pair = registered.json() as { refresh_token: string }
    const admin = await post(gateway, '/api/auth/admin/login', ADMIN)
    t.equal(admin.statusCode, 200, 'control: the admin signs in while Redis answers')
    const adminToken = (admin.json() as { access_token: string }).access_token

    redis.kill('SIGSTOP')
    t.teardown(() => void redis.kill('SIGCONT'))
    const calls: Array<[string, () => Promise<Reply>]> = [
      ['login', () => post(gateway, '/api/auth/login', { email: 'ada@example.com', password: PASSWORD })],
      [
        'login with a wrong password',
        () => post(gateway, '/api/auth/login', { email: 'ada@example.com', password: 'wrong-password' }),
      ],
      ['refresh', () => post(gateway, '/api/auth/refresh', { refresh_token: pair.refresh_token })],
      ['admin login', () => post(gateway, '/api/auth/admin/login', ADMIN)],
      [
        'an admin request',
        () => gateway.inject({ url: '/api/admin/users', headers: { authorization: `Bearer ${adminToken}` } }),
      ],
      [
        'admin sign-out',
        () =>
          gateway.inject({
            method: 'POST',
            url: '/api/auth/admin/logout',
            headers: { authorization: `Bearer ${adminToken}` },
          }),
      ],
    ]
    for (const [label, call] of calls) {
      const started = performance.now()
      const response = await Promise.race([call(), sleep(BOUND_MS * 5).then(() => undefined)])
      const elapsed = Math.round(performance.now() - started)
      t.ok(response, `${label}: answered at all (within ${BOUND_MS * 5} ms)`)
      if (!response) continue
      t.ok(elapsed < BOUND_MS, `${label}: answered in ${elapsed} ms`)
      t.equal(response.statusCode, 503, `${label}: 503`)
      t.match(
        response.json(),
        { error: { type: 'service_unavailable', message: String } },
        `${label}: says the service is briefly unavailable`,
      )
    }

    redis.kill('SIGCONT')
    let status = 0
    const deadline = Date.now() + 10_000
    while (
      Date.now() < deadline &&
      (status = (await post(gateway, '/api/auth/login', { email: 'ada@example.com', password: PASSWORD }))
        .statusCode) !== 200
    )
      await sleep(100)
    t.equal(status, 200, 'sign-in works again once Redis answers')
  },
)

interface Reply {
  statusCode: number
  json(): unknown
}

function post(gateway: Gateway, url: string, payload: Record<string, unknown>): Promise<Reply> {
  return gateway.inject({ method: 'POST', url, payload })
}

async function listening(port: number): Promise<void> {
  const deadline = Date.now() + 5_000
  for (;;) {
    const up = await new Promise<boolean>(resolve => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (up) return
    if (Date.now() > deadline) throw new Error(`redis-server did not listen on ${port}`)
    await sleep(50)
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  child.kill('SIGCONT')
  const exited = new Promise(resolve => child.once('exit', resolve))
  child.kill('SIGTERM')
  await Promise.race([exited, sleep(3_000)])
  if (child.exitCode === null) child.kill('SIGKILL')
}
