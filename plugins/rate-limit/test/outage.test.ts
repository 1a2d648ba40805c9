/**
 * A Redis outage: two instances share a throwaway redis-server that the test kills
 * and restarts. While it is down, chat is still served with per-instance limits, one warning
 * is logged per outage and the metrics say so; within seconds of its return the limits are
 * shared again.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import net from 'node:net'
import t from 'tap'
import { captureLogs, freePort, type TestGateway } from '@parley/core/testing'
import { bootGateway, call, channel, until } from './helpers.js'

const WARNING = 'RATE LIMITS ARE PER INSTANCE NOW'
const RECOVERED = 'rate limits are shared between instances again'

const noRedisServer = spawnSync('redis-server', ['--version']).error
  ? 'redis-server is not on PATH: this test starts (and kills) a throwaway Redis of its own'
  : false

/** A redis-server on `port` that keeps nothing on disk; resolves once it answers PING. */
async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  )
  const deadline = Date.now() + 5000
  while (!(await answersPing(port))) {
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`redis-server on port ${port} did not start`)
    }
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  return child
}

function answersPing(port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = net.connect({ host: '127.0.0.1', port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.once('data', data => done(data.toString().startsWith('+PONG')))
  })
}

async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGKILL')
  await exited
}

async function metric(gateway: TestGateway, name: string): Promise<number> {
  const text = (await gateway.inject({ method: 'GET', url: '/metrics' })).body
  const value = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]
  return value === undefined ? NaN : Number(value)
}

/** `count` calls of one caller, alternating between the instances; their status codes. */
async function alternating(gateways: readonly TestGateway[], count: number, token: string): Promise<number[]> {
  const codes: number[] = []
  for (let i = 0; i < count; i++)
    codes.push((await call(gateways[i % gateways.length] as TestGateway, { token })).statusCode)
  return codes
}

t.test(
  'Redis goes away and comes back: served with local limits, one warning, a metric, shared again',
  { skip: noRedisServer, timeout: 30_000 },
  async t => {
    const port = await freePort()
    let redis = await startRedis(port)
    const logs = captureLogs('info')
    const a = await bootGateway(t, {
      redisUrl: `redis://127.0.0.1:${port}`,
      logger: logs.logger,
      keepOpen: true,
      config: { settings: { user_rpm: 3 } },
    })
    const b = await bootGateway(t, { sharedWith: a.gateway, keepOpen: true, config: { settings: { user_rpm: 3 } } })
    t.teardown(async () => {
      // Close the gateways with Redis up, so nothing waits on a dead connection.
      if (redis.exitCode !== null || redis.signalCode !== null) redis = await startRedis(port)
      await b.gateway.close()
      await a.gateway.close()
      await stopRedis(redis)
    })
    const both = [a.gateway, b.gateway]
    await channel(a.gateway, 'main')
    await until(() => b.gateway.catalog.current().channels.length === 1, 'the channel on instance B')

    t.same(await alternating(both, 4, 'user-2'), [200, 200, 200, 429], 'with Redis: one limit for both instances')
    t.equal(await metric(a.gateway, 'parley_rate_limit_degraded'), 0)

    await stopRedis(redis)
    const started = Date.now()
    const onA = []
    const onB = []
    for (let i = 0; i < 4; i++) onA.push((await call(a.gateway, { token: 'user-3' })).statusCode)
    for (let i = 0; i < 4; i++) onB.push((await call(b.gateway, { token: 'user-3' })).statusCode)
    const elapsed = Date.now() - started
    t.same(onA, [200, 200, 200, 429], 'Redis down: instance A still serves and limits on its own')
    t.same(onB, [200, 200, 200, 429], 'and so does instance B, each with the full limit (fail open)')
    t.ok(elapsed < 2000, `eight calls took ${elapsed} ms: an outage does not stall requests`)
    // ioredis keeps reconnecting meanwhile, and every failed attempt reports a closed connection.
    await new Promise(resolve => setTimeout(resolve, 1200))
    t.equal((await call(a.gateway, { token: 'user-5' })).statusCode, 200)
    t.equal(logs.containing(WARNING).length, 1, 'one loud warning for the outage, not one per call')
    t.match(logs.containing(WARNING)[0], /"level":40/, 'at warn level')
    t.equal(await metric(a.gateway, 'parley_rate_limit_degraded'), 1, 'the degraded gauge is up')
    t.ok((await metric(a.gateway, 'parley_rate_limit_fallbacks_total')) >= 4, 'the fallbacks are counted')

    redis = await startRedis(port)
    const restarted = Date.now()
    await until(() => logs.containing(RECOVERED).length === 1, 'instance A back on Redis', 5000)
    t.ok(Date.now() - restarted < 5000, `shared again ${Date.now() - restarted} ms after Redis returned`)
    t.equal(await metric(a.gateway, 'parley_rate_limit_degraded'), 0, 'the gauge is down again')
    const deadline = Date.now() + 5000
    while ((await metric(b.gateway, 'parley_rate_limit_degraded')) !== 0 && Date.now() < deadline)
      await new Promise(resolve => setTimeout(resolve, 50))
    t.equal(await metric(b.gateway, 'parley_rate_limit_degraded'), 0, 'instance B is back too')
    const fallbacks = await metric(a.gateway, 'parley_rate_limit_fallbacks_total')
    t.same(await alternating(both, 4, 'user-4'), [200, 200, 200, 429], 'one limit for both instances again')
    t.equal(await metric(a.gateway, 'parley_rate_limit_fallbacks_total'), fallbacks, 'no more fallbacks')
    t.equal(logs.containing(WARNING).length, 1)
  },
)

t.test(
  'a Redis that stops answering without closing: one call waits the command timeout, then local limits until it answers',
  { skip: noRedisServer, timeout: 30_000 },
  async t => {
    const port = await freePort()
    const redis = await startRedis(port)
    const logs = captureLogs('info')
    const { gateway } = await bootGateway(t, {
      redisUrl: `redis://127.0.0.1:${port}`,
      logger: logs.logger,
      keepOpen: true,
      config: { settings: { user_rpm: 2 } },
    })
    t.teardown(async () => {
      redis.kill('SIGCONT')
      await gateway.close()
      await stopRedis(redis)
    })
    await channel(gateway, 'main')
    t.same([(await call(gateway, { token: 'user-2' })).statusCode], [200])

    redis.kill('SIGSTOP')
    const timings: number[] = []
    const codes: number[] = []
    for (let i = 0; i < 4; i++) {
      const started = Date.now()
      codes.push((await call(gateway, { token: 'user-5' })).statusCode)
      timings.push(Date.now() - started)
    }
    t.same(codes, [200, 200, 429, 429], 'served and limited in this instance')
    t.ok((timings[0] ?? Infinity) < 1500, `the first call waited ${timings[0]} ms for the silent Redis`)
    // One that waited on Redis would take the whole 500 ms command timeout.
    t.ok(
      timings.slice(1).every(ms => ms < 400),
      `the next ones did not wait on it (${timings.slice(1).join(', ')} ms)`,
    )
    t.equal(logs.containing(WARNING).length, 1)
    t.equal(await metric(gateway, 'parley_rate_limit_degraded'), 1)

    redis.kill('SIGCONT')
    await until(() => logs.containing(RECOVERED).length === 1, 'the probe finding Redis again', 5000)
    t.equal(await metric(gateway, 'parley_rate_limit_degraded'), 0)
    t.same(
      [(await call(gateway, { token: 'user-2' })).statusCode, (await call(gateway, { token: 'user-2' })).statusCode],
      [200, 429],
      "user 2's count from before the stall is in Redis again",
    )
  },
)
