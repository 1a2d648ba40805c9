/**
 * White-box: the two window counters pass one contract (STYLE §5), the Redis one against the
 * Redis of PARLEY_TEST_REDIS_URL; and two Redis counters on one prefix count together. Their
 * keys live under a fresh prefix and expire with their one-minute window.
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { captureLogs, missingService, testServices } from '@parley/core/testing'
import type { WindowCounter } from '../../src/counter.js'
import { LocalCounter } from '../../src/local-counter.js'
import type { Sample } from '../../src/metrics.js'
import { SharedCounter } from '../../src/shared-counter.js'

const unused: Sample = { set: () => undefined, inc: () => undefined, value: () => 0 }

function sharedCounter(prefix: string): SharedCounter {
  return new SharedCounter({
    url: testServices.redisUrl ?? '',
    prefix,
    log: captureLogs('silent').logger,
    degraded: unused,
    fallbacks: unused,
  })
}

const drivers: Array<{ name: string; skip: string | false; make: () => WindowCounter }> = [
  { name: 'memory', skip: false, make: () => new LocalCounter() },
  {
    name: 'redis',
    skip: missingService('redis'),
    make: () => sharedCounter(`parley-test-${randomBytes(4).toString('hex')}:`),
  },
]

for (const driver of drivers) {
  t.test(
    `${driver.name} counter: counts per key in a one-minute window, and refunds`,
    { skip: driver.skip },
    async t => {
      const counter = driver.make()
      await counter.start()
      t.teardown(() => counter.close())
      const key = `user:${randomBytes(4).toString('hex')}`
      const hits = [await counter.hit(key), await counter.hit(key), await counter.hit(key)]
      t.same(
        hits.map(hit => hit.count),
        [1, 2, 3],
      )
      for (const hit of hits)
        t.ok(hit.resetMs > 58_000 && hit.resetMs <= 60_000, `resets within the minute (${hit.resetMs} ms)`)
      t.equal((await counter.hit(`${key}-other`)).count, 1, 'another key counts on its own')
      const fourth = await counter.hit(key)
      t.equal(fourth.count, 4)
      fourth.refund()
      t.equal((await counter.hit(key)).count, 4, 'a refunded call is out of the count')
      const concurrent = await Promise.all(Array.from({ length: 40 }, () => counter.hit(`${key}-busy`)))
      t.same(
        concurrent.map(hit => hit.count).sort((a, b) => a - b),
        Array.from({ length: 40 }, (_, i) => i + 1),
        'concurrent hits each get their own count',
      )
    },
  )
}

t.test(
  'memory counter: answers at once; a window ends a minute after its first call; ended windows are swept',
  async t => {
    let now = 1_000_000
    t.capture(Date, 'now', () => now)
    const sweeps: Array<() => void> = []
    t.capture(globalThis, 'setInterval', ((sweep: () => void) => {
      sweeps.push(sweep)
      return { unref: () => undefined }
    }) as unknown as typeof setInterval)
    const counter = new LocalCounter()
    await counter.start()
    t.teardown(() => counter.close())
    const first = counter.hit('guest:203.0.113.9')
    t.notOk(first instanceof Promise, 'no promise for a count in memory')
    t.same([first.count, first.resetMs], [1, 60_000])
    counter.hit('guest:198.51.100.1')
    now += 59_000
    const late = counter.hit('guest:203.0.113.9')
    t.same([late.count, late.resetMs], [2, 1000], 'the window is fixed from the first call')
    late.refund()
    t.equal(counter.hit('guest:203.0.113.9').count, 3, 'no refund in the last second: it could land in the next window')
    now += 1000
    const next = counter.hit('guest:203.0.113.9')
    t.same([next.count, next.resetMs], [1, 60_000], 'a new window starts with the first call after the end')
    t.equal(counter.size, 2)
    t.equal(sweeps.length, 1, 'one sweeper')
    sweeps[0]?.()
    t.equal(counter.size, 1, 'the ended window of the address that went quiet is gone')
    now += 60_000
    sweeps[0]?.()
    t.equal(counter.size, 0, 'nothing is held for keys no longer used')
  },
)

t.test('two redis counters on one prefix count together', { skip: missingService('redis') }, async t => {
  const prefix = `parley-test-${randomBytes(4).toString('hex')}:`
  const [a, b] = [sharedCounter(prefix), sharedCounter(prefix)]
  await Promise.all([a.start(), b.start()])
  t.teardown(() => Promise.all([a.close(), b.close()]))
  const hits = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? a : b).hit('channel:1')))
  t.same(
    hits.map(hit => hit.count).sort((x, y) => x - y),
    Array.from({ length: 30 }, (_, i) => i + 1),
  )
})
