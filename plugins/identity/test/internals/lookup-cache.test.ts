import t from 'tap'
import { LookupCache } from '../../src/lookup-cache.js'

// The principal cache under load: misses share one lookup, busy keys are refreshed before they
// expire, and an invalidation is never undone by a lookup that was already running.

function deferred<T>() {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

t.test('callers that miss together share one lookup', async t => {
  const cache = new LookupCache<string, number>(10_000, 100)
  const pending = deferred<number>()
  let loads = 0
  const load = () => {
    loads++
    return pending.promise
  }
  const answers = Promise.all(Array.from({ length: 64 }, () => cache.get('k', load)))
  pending.resolve(7)
  t.same(await answers, Array(64).fill(7))
  t.equal(loads, 1, 'one database lookup for 64 concurrent requests')
  t.equal(cache.get('k', load), 7, 'then served from the cache, at once (no promise)')
  t.equal(loads, 1)
})

t.test('a key in use is reloaded in the background before it expires', async t => {
  let now = 1_000_000
  t.capture(Date, 'now', () => now)
  const cache = new LookupCache<string, number>(10_000, 100)
  let version = 1
  let loads = 0
  const load = async () => {
    loads++
    return version
  }
  t.equal(await cache.get('k', load), 1)
  version = 2
  now += 8_500 // in the last fifth of its life
  t.equal(await cache.get('k', load), 1, 'still served at once, while the refresh runs')
  await new Promise(setImmediate)
  t.equal(loads, 2, 'one background refresh')
  now += 5_000 // past the first load's expiry, within the refreshed entry's life
  t.equal(await cache.get('k', load), 2, 'the refreshed value, without a wait')
  t.equal(loads, 2)
})

t.test('an expired entry is loaded again, once', async t => {
  let now = 0
  t.capture(Date, 'now', () => now)
  const cache = new LookupCache<string, string>(1000, 100)
  let loads = 0
  const load = async () => `v${++loads}`
  t.equal(await cache.get('k', load), 'v1')
  now += 1000
  const [a, b] = await Promise.all([cache.get('k', load), cache.get('k', load)])
  t.same([a, b], ['v2', 'v2'])
  t.equal(loads, 2)
})

t.test('delete drops a lookup in flight: it never writes back what was invalidated', async t => {
  const cache = new LookupCache<string, string>(10_000, 100)
  const old = deferred<string>()
  const first = cache.get('token', () => old.promise)
  cache.delete('token') // revoked while the lookup runs
  const fresh = cache.get('token', async () => 'revoked')
  old.resolve('active')
  t.equal(await first, 'active', 'the request that started before the revoke gets its answer')
  t.equal(await fresh, 'revoked')
  t.equal(await cache.get('token', async () => 'unexpected'), 'revoked', 'the stale answer was not cached')
})

t.test('a failed lookup is not cached and the next caller tries again', async t => {
  const cache = new LookupCache<string, string>(10_000, 100)
  await t.rejects(async () => cache.get('k', async () => Promise.reject(new Error('database down'))), /database down/)
  t.equal(await cache.get('k', async () => 'back'), 'back')
})

t.test('the cache holds at most max entries, oldest out first', async t => {
  const cache = new LookupCache<number, number>(10_000, 2)
  for (const key of [1, 2, 3]) await cache.get(key, async () => key)
  let reloaded = 0
  await cache.get(1, async () => ++reloaded)
  await cache.get(3, async () => ++reloaded)
  t.equal(reloaded, 1, 'key 1 was evicted, key 3 kept')
})
