/**
 * One contract for every key-value driver: memory always, Redis when it is reachable. Each
 * Redis run uses its own random prefix, so parallel test files never share keys or channels.
 */
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { pino } from 'pino'
import t, { type Test } from 'tap'
import type { Logger } from '../src/logger.js'
import { createKeyValueStore, MemoryKeyValueStore, type KeyValueStore } from '../src/kv/index.js'
import { RedisKeyValueStore } from '../src/kv/redis.js'
import { missingService, testServices } from '../src/testing/services.js'
import { freePort } from '../src/testing/net.js'

type MakeStore = (options: { prefix: string; logger: Logger }) => KeyValueStore

interface Opened {
  kv: KeyValueStore
  logs: Array<Record<string, unknown>>
}

/** A pino logger whose JSON lines land in an array, to assert on what the drivers log. */
function captureLogger(): { logger: Logger; logs: Array<Record<string, unknown>> } {
  const logs: Array<Record<string, unknown>> = []
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) })
  return { logger, logs }
}

/** Polls `probe` until it returns something other than undefined/false; fails after `timeoutMs`. */
async function until<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 3_000,
): Promise<T> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const result = await probe()
    if (result !== undefined && result !== false) return result
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await sleep(10)
  }
}

function inbox(): { messages: string[]; handler: (message: string) => void } {
  const messages: string[] = []
  return { messages, handler: message => void messages.push(message) }
}

function contract(t: Test, makeStore: MakeStore, driver: { runPrefix: string; shared: boolean }): void {
  let stores = 0
  /** A store closed at the end of the subtest; a fresh prefix unless one is given. */
  const open = (t: Test, prefix = `${driver.runPrefix}${++stores}:`): Opened => {
    const { logger, logs } = captureLogger()
    const kv = makeStore({ prefix, logger })
    t.teardown(() => kv.close())
    return { kv, logs }
  }

  t.test('get, set and delete', async t => {
    const { kv } = open(t)
    t.equal(await kv.get('missing'), null)
    t.equal(await kv.set('greeting', 'hello'), true)
    t.equal(await kv.get('greeting'), 'hello')
    t.equal(await kv.set('greeting', 'héllo ✓'), true, 'overwrites')
    t.equal(await kv.get('greeting'), 'héllo ✓')
    t.equal(await kv.set('empty', ''), true)
    t.equal(await kv.get('empty'), '', 'an empty string is a value, not a miss')
    t.equal(await kv.delete('greeting'), true)
    t.equal(await kv.delete('greeting'), false, 'deleting twice reports the key was gone')
    t.equal(await kv.get('greeting'), null)
  })

  t.test('ttl expiry', async t => {
    const { kv } = open(t)
    await kv.set('short', 'v', { ttlMs: 100 })
    t.equal(await kv.get('short'), 'v', 'present before the ttl')
    await until(async () => (await kv.get('short')) === null)
    t.pass('gone after the ttl')

    await kv.set('kept', 'v', { ttlMs: 60 })
    await kv.set('kept', 'w')
    await sleep(150)
    t.equal(await kv.get('kept'), 'w', 'a write without ttl drops the earlier expiry')

    await t.rejects(kv.set('bad', 'v', { ttlMs: 0 }), RangeError)
    await t.rejects(kv.set('bad', 'v', { ttlMs: 1.5 }), RangeError)
  })

  t.test('onlyIfAbsent is a lock', async t => {
    const { kv } = open(t)
    t.equal(await kv.set('lock', 'a', { onlyIfAbsent: true }), true)
    t.equal(await kv.set('lock', 'b', { onlyIfAbsent: true }), false)
    t.equal(await kv.get('lock'), 'a', 'a refused write changes nothing')
    await kv.delete('lock')
    t.equal(await kv.set('lock', 'c', { onlyIfAbsent: true, ttlMs: 80 }), true)
    await until(() => kv.set('lock', 'd', { onlyIfAbsent: true }))
    t.equal(await kv.get('lock'), 'd', 'an expired lock can be taken again')

    const owners = Array.from({ length: 50 }, (_, i) => `owner-${i}`)
    const results = await Promise.all(owners.map(owner => kv.set('race', owner, { onlyIfAbsent: true, ttlMs: 5_000 })))
    const winners = owners.filter((_, i) => results[i])
    t.equal(winners.length, 1, 'exactly one of 50 concurrent writers wins')
    t.equal(await kv.get('race'), winners[0])
  })

  t.test('increment', async t => {
    const { kv } = open(t)
    const first = await kv.increment('steps', { ttlMs: 10_000 })
    t.equal(first.value, 1)
    t.ok(first.ttlMs > 0 && first.ttlMs <= 10_000, `ttl ${first.ttlMs} within the window`)
    t.equal((await kv.increment('steps', { by: 5, ttlMs: 10_000 })).value, 6)
    t.equal((await kv.increment('steps', { by: -2, ttlMs: 10_000 })).value, 4)
    t.equal(await kv.get('steps'), '4', 'counters read back as strings')

    await kv.set('plain', '10')
    const adopted = await kv.increment('plain', { ttlMs: 5_000 })
    t.equal(adopted.value, 11)
    t.ok(adopted.ttlMs > 0 && adopted.ttlMs <= 5_000, 'a counter without expiry gets one')

    await kv.set('text', 'abc')
    await t.rejects(kv.increment('text', { ttlMs: 1_000 }), 'a non-integer value is not a counter')
    await t.rejects(kv.increment('steps', { by: 0.5, ttlMs: 1_000 }), RangeError)
    await t.rejects(kv.increment('steps', { ttlMs: -1 }), RangeError)
  })

  t.test('increment is atomic under concurrency', async t => {
    const { kv } = open(t)
    const results = await Promise.all(Array.from({ length: 200 }, () => kv.increment('hits', { ttlMs: 10_000 })))
    const byValue = [...results].sort((a, b) => a.value - b.value)
    t.same(
      byValue.map(r => r.value),
      Array.from({ length: 200 }, (_, i) => i + 1),
      'values are exactly 1..200',
    )
    const ttls = byValue.map(r => r.ttlMs)
    t.ok(
      ttls.every((ttl, i) => ttl > 0 && ttl <= 10_000 && (i === 0 || ttl <= (ttls[i - 1] ?? 0))),
      'one expiry: the time left only shrinks as the count grows',
    )
    t.equal(await kv.get('hits'), '200')
  })

  t.test('later increments never extend the window', async t => {
    const { kv } = open(t)
    const start = performance.now()
    const first = await kv.increment('window', { ttlMs: 150 })
    t.equal(first.value, 1)
    await sleep(60)
    const second = await kv.increment('window', { ttlMs: 150 })
    t.equal(second.value, 2)
    t.ok(second.ttlMs <= 110, `time left shrank to ${second.ttlMs} ms`)
    // Keeps hitting the counter: an extended window would never reset and time out here.
    const resetAt = await until(
      async () => (await kv.increment('window', { ttlMs: 150 })).value === 1 && performance.now(),
    )
    t.ok(resetAt - start < 150 + 300, `the window closed ${Math.round(resetAt - start)} ms after it opened`)
  })

  t.test('append and range: a list that expires after its last append', async t => {
    const { kv } = open(t)
    t.same(await kv.range('log', 0), [], 'a missing list is empty')
    t.equal(await kv.append('log', 'a', { ttlMs: 1_500 }), 1)
    t.equal(await kv.append('log', 'b', { ttlMs: 1_500 }), 2)
    t.equal(await kv.append('log', 'c\n\n日本', { ttlMs: 1_500 }), 3)
    t.same(await kv.range('log', 0), ['a', 'b', 'c\n\n日本'])
    t.same(await kv.range('log', 2), ['c\n\n日本'], 'from an index on')
    t.same(await kv.range('log', 5), [], 'past the end')
    await sleep(900)
    await kv.append('log', 'd', { ttlMs: 1_500 })
    await sleep(900)
    t.equal((await kv.range('log', 0)).length, 4, 'an append renews the expiry')
    await until(async () => (await kv.range('log', 0)).length === 0)
    t.pass('the list expired after its last append')
    const appended = await Promise.all(
      Array.from({ length: 50 }, (_, i) => kv.append('many', String(i), { ttlMs: 5_000 })),
    )
    t.same(
      [...appended].sort((a, b) => a - b),
      Array.from({ length: 50 }, (_, i) => i + 1),
      'each append sees its own length',
    )
    await kv.set('plain', 'x')
    await t.rejects(kv.append('plain', 'y', { ttlMs: 1_000 }), 'a string is not a list')
    await t.rejects(kv.append('log', 'y', { ttlMs: -1 }), RangeError)
    t.ok(await kv.delete('many'), 'delete removes a list')
    t.same(await kv.range('many', 0), [])
  })

  t.test('publish and subscribe', async t => {
    const { kv, logs } = open(t)
    const a = inbox()
    const b = inbox()
    const sports = inbox()
    const offA = await kv.subscribe('news', a.handler)
    const offB = await kv.subscribe('news', b.handler)
    await kv.subscribe('sports', sports.handler)

    for (const message of ['one', 'two', 'three']) await kv.publish('news', message)
    await until(() => a.messages.length === 3 && b.messages.length === 3)
    t.same(a.messages, ['one', 'two', 'three'], 'every subscriber gets every message, in order')
    t.same(b.messages, ['one', 'two', 'three'])

    await offA()
    await offA()
    await kv.publish('news', 'four')
    await until(() => b.messages.length === 4)
    t.same(a.messages, ['one', 'two', 'three'], 'an unsubscribed handler hears nothing more')

    await offB()
    await kv.publish('news', 'five')
    // Delivery is ordered, so once this marker arrives "five" would have arrived too.
    await kv.publish('sports', 'marker')
    await until(() => sports.messages.length === 1)
    t.same(sports.messages, ['marker'], 'channels are separate')
    t.equal(b.messages.length, 4, 'the last unsubscribe stops delivery on the channel')

    const twice = inbox()
    const offFirst = await kv.subscribe('twice', twice.handler)
    await kv.subscribe('twice', twice.handler)
    await kv.publish('twice', 'x')
    await until(() => twice.messages.length === 2)
    await offFirst()
    await kv.publish('twice', 'y')
    await until(() => twice.messages.includes('y'))
    t.same(twice.messages, ['x', 'x', 'y'], 'each subscribe() is its own subscription')

    const survivor = inbox()
    await kv.subscribe('faulty', () => {
      throw new Error('handler bug')
    })
    await kv.subscribe('faulty', survivor.handler)
    await kv.publish('faulty', 'still delivered')
    await until(() => survivor.messages.length === 1)
    t.ok(
      logs.some(line => line.msg === 'key-value subscriber failed'),
      'a throwing handler is logged, not fatal',
    )
  })

  t.test('different prefixes are isolated', async t => {
    const one = open(t).kv
    const two = open(t).kv
    await one.set('k', 'one')
    t.equal(await two.get('k'), null)
    await two.set('k', 'two')
    t.equal(await one.get('k'), 'one')
    const heardByOne = inbox()
    const heardByTwo = inbox()
    await one.subscribe('ch', heardByOne.handler)
    await two.subscribe('ch', heardByTwo.handler)
    await one.publish('ch', 'from-one')
    await until(() => heardByOne.messages.length === 1)
    await two.publish('ch', 'from-two')
    await until(() => heardByTwo.messages.length === 1)
    t.same(heardByTwo.messages, ['from-two'], 'a message never crosses prefixes')
    t.same(heardByOne.messages, ['from-one'])
  })

  if (driver.shared) {
    t.test('instances on one prefix share values and messages', async t => {
      const prefix = `${driver.runPrefix}shared:`
      const one = open(t, prefix).kv
      const two = open(t, prefix).kv
      await one.set('k', 'v')
      t.equal(await two.get('k'), 'v')
      t.equal(await two.delete('k'), true)
      t.equal(await one.get('k'), null)

      const counts = await Promise.all(
        Array.from({ length: 100 }, (_, i) => (i % 2 ? one : two).increment('hits', { ttlMs: 10_000 })),
      )
      t.same(
        counts.map(c => c.value).sort((a, b) => a - b),
        Array.from({ length: 100 }, (_, i) => i + 1),
      )

      const heardByOne = inbox()
      const heardByTwo = inbox()
      await one.subscribe('ch', heardByOne.handler)
      await two.subscribe('ch', heardByTwo.handler)
      await one.publish('ch', 'from-one')
      await two.publish('ch', 'from-two')
      await until(() => heardByOne.messages.length === 2 && heardByTwo.messages.length === 2)
      t.same(heardByOne.messages, ['from-one', 'from-two'], 'the publisher hears itself too')
      t.same(heardByTwo.messages, ['from-one', 'from-two'])
    })
  }

  t.test('ping and close', async t => {
    const { kv } = open(t)
    await t.resolves(kv.ping())
    await kv.close()
    await t.rejects(kv.get('k'), /closed/)
    await t.rejects(kv.ping(), /closed/)
    await t.resolves(kv.close(), 'closing twice is harmless')
  })
}

t.test('memory driver', async t => {
  contract(t, options => new MemoryKeyValueStore(options), { runPrefix: 'test:', shared: false })
  t.test('is what the factory picks without a Redis URL', async t => {
    const kv = await createKeyValueStore({})
    t.teardown(() => kv.close())
    t.equal(kv.kind, 'memory')
  })
})

const redisUrl = testServices.redisUrl

t.test('redis driver', { skip: missingService('redis') }, async t => {
  if (!redisUrl) throw new Error('unreachable: skipped without a Redis URL')
  const runPrefix = `parley-test:${randomUUID()}:`
  const admin = new Redis(redisUrl)
  t.teardown(async () => {
    const keys: string[] = []
    for await (const batch of admin.scanStream({ match: `${runPrefix}*`, count: 500 }))
      keys.push(...(batch as string[]))
    if (keys.length > 0) await admin.del(...keys)
    await admin.quit()
  })

  contract(t, ({ prefix, logger }) => new RedisKeyValueStore({ url: redisUrl, prefix, logger }), {
    runPrefix,
    shared: true,
  })

  t.test('is what the factory picks with a Redis URL', async t => {
    const kv = await createKeyValueStore({ redisUrl, prefix: runPrefix, logger: pino({ level: 'silent' }) })
    t.teardown(() => kv.close())
    t.equal(kv.kind, 'redis')
    await t.resolves(kv.ping())
  })

  t.test('fails fast and quietly while Redis is down', async t => {
    const { logger, logs } = captureLogger()
    const kv = new RedisKeyValueStore({ url: 'redis://parley:s3cret@127.0.0.1:1', prefix: runPrefix, logger })
    t.teardown(() => kv.close())
    const start = performance.now()
    await t.rejects(kv.ping())
    t.ok(performance.now() - start < 5_000, `ping rejected after ${Math.round(performance.now() - start)} ms`)
    await t.rejects(kv.set('k', 'v'))
    await t.rejects(kv.subscribe('ch', () => undefined))
    t.ok(performance.now() - start < 10_000, 'commands are not queued forever')
    t.ok(
      logs.some(line => line.level === 40 && line.msg === 'redis connection failed, retrying'),
      'the outage is logged',
    )
    t.notMatch(JSON.stringify(logs), /s3cret/, 'the password never reaches the log')
  })

  t.test('recovers after its connections are killed', async t => {
    const { logger } = captureLogger()
    const prefix = `${runPrefix}killed:`
    const kv = new RedisKeyValueStore({ url: redisUrl, prefix, logger })
    t.teardown(() => kv.close())
    const news = inbox()
    await kv.subscribe('news', news.handler)
    await kv.set('k', 'v')

    // Connections are named after the prefix, which is unique to this test.
    const clients = String(await admin.client('LIST')).split('\n')
    const ids = (role: string): string[] =>
      clients.filter(line => line.includes(` name=${role} `)).map(line => /^id=(\d+)/.exec(line)?.[1] ?? '')
    const name = `parley-kv:${prefix.slice(0, -1)}`
    const [main] = ids(name)
    const [subscriber] = ids(`${name}:subscriber`)
    if (!main || !subscriber) throw new Error(`connections named ${name} not found`)
    await admin.client('KILL', 'ID', main)
    await admin.client('KILL', 'ID', subscriber)

    t.equal(await kv.get('k'), 'v', 'the main connection reconnects and the command goes through')
    // The subscriber reconnects on its own; keep publishing until the re-subscription is live.
    let sent = 0
    await until(async () => {
      await kv.publish('news', `after-kill-${++sent}`)
      return news.messages.length > 0
    })
    t.match(news.messages[0], /^after-kill-/, 'the subscription survives a reconnect')
  })
})

const REDIS_SERVER = '/usr/bin/redis-server'

t.test(
  'redis driver: a frozen Redis fails every command within the deadline, then recovers',
  { skip: existsSync(REDIS_SERVER) ? false : `${REDIS_SERVER} is not installed` },
  async t => {
    // Its own server, never the shared one: SIGSTOP keeps connections open and answers nothing,
    // as a paused, overloaded or unreachable-but-not-refusing Redis does.
    const port = await freePort()
    const server = spawn(
      REDIS_SERVER,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    )
    t.teardown(async () => {
      server.kill('SIGCONT')
      server.kill('SIGKILL')
      if (server.exitCode === null) await new Promise(resolve => server.once('exit', resolve))
    })
    await until(
      () =>
        new Promise<boolean>(resolve => {
          const socket = connect({ host: '127.0.0.1', port }, () => {
            socket.destroy()
            resolve(true)
          })
          socket.once('error', () => resolve(false))
        }),
      5_000,
    )
    const { logger } = captureLogger()
    const kv = new RedisKeyValueStore({ url: `redis://127.0.0.1:${port}`, prefix: 'frozen:', logger })
    t.teardown(() => kv.close())
    await kv.set('k', 'v')
    await kv.set('kept', 'yes')
    await kv.subscribe('ch', () => undefined)

    server.kill('SIGSTOP')
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['get', () => kv.get('k')],
      ['set', () => kv.set('k', 'w', { ttlMs: 1000 })],
      ['delete', () => kv.delete('k')],
      ['increment', () => kv.increment('n', { ttlMs: 1000 })],
      ['publish', () => kv.publish('ch', 'hello')],
      ['subscribe', () => kv.subscribe('other', () => undefined)],
    ]
    for (const [name, call] of calls) {
      const start = performance.now()
      await t.rejects(call(), `${name} rejects`)
      const elapsed = Math.round(performance.now() - start)
      t.ok(elapsed < 2_500, `${name} rejected after ${elapsed} ms`)
    }
    await t.rejects(Promise.all(calls.map(([, call]) => call())), 'concurrent calls reject too')

    server.kill('SIGCONT')
    // The late commands may still take effect when Redis wakes up (the deadline only stops the wait).
    t.equal(
      await until(() => kv.get('kept').catch(() => undefined), 10_000),
      'yes',
      'commands go through again once Redis answers',
    )
  },
)
