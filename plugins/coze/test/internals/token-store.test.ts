import { randomBytes } from 'node:crypto'
import t from 'tap'
import type { KeyValueStore } from '@parley/core'
import { captureLogs } from '@parley/core/testing'
import { Agent } from 'undici'
import type { OAuthApp } from '../../src/settings.js'
import { TokenSeal } from '../../src/token-seal.js'
import { TokenStore } from '../../src/token-store.js'
import { APP_ID, appKeys, KEY_ID, mockCoze } from '../helpers.js'

// The token store on its own: instances that share one KV (as N gateways share Redis) make one
// exchange between them, a KV that fails does not stop tokens, and sealed tokens open only with
// the deployment's key.

const keys = appKeys()
const dispatcher = new Agent()
t.teardown(() => dispatcher.close())

/** The KV port in memory, shared by every store given it (onlyIfAbsent and TTLs as the port says). */
function sharedKv(): KeyValueStore & { readonly entries: Map<string, { value: string; until: number }> } {
  const entries = new Map<string, { value: string; until: number }>()
  const live = (key: string) => {
    const entry = entries.get(key)
    if (entry && entry.until <= Date.now()) entries.delete(key)
    return entries.get(key)
  }
  return {
    kind: 'memory',
    entries,
    get: async key => live(key)?.value ?? null,
    set: async (key, value, options = {}) => {
      if (options.onlyIfAbsent && live(key)) return false
      entries.set(key, { value, until: options.ttlMs === undefined ? Infinity : Date.now() + options.ttlMs })
      return true
    },
    delete: async key => entries.delete(key),
    increment: async () => ({ value: 1, ttlMs: 0 }),
    append: async () => 1,
    range: async () => [],
    publish: async () => undefined,
    subscribe: async () => async () => undefined,
    ping: async () => undefined,
    close: async () => undefined,
  }
}

function appFor(host: string): OAuthApp {
  return { appId: APP_ID, keyId: KEY_ID, privateKey: keys.privatePem, audience: host, durationSeconds: 900 }
}

t.test('instances sharing a KV make one exchange between them, however many calls ask at once', async t => {
  const mock = await mockCoze(t, keys, { exchangeDelayMs: 100 })
  const kv = sharedKv()
  const encryptionKey = randomBytes(32)
  const stores = [0, 1, 2].map(
    () => new TokenStore({ kv, seal: new TokenSeal(encryptionKey), log: captureLogs().logger, retryAfterMs: 1000 }),
  )
  const app = appFor(mock.host)
  const results = await Promise.all(
    stores.flatMap(store => Array.from({ length: 5 }, () => store.token(mock.url, app, dispatcher))),
  )
  t.equal(mock.exchanges.length, 1, 'one exchange for fifteen calls on three instances')
  t.same(
    new Set(results.map(result => (result.ok ? result.token : 'failed'))),
    new Set([mock.exchanges[0]?.token]),
    'all got the same token',
  )
  t.notOk(
    [...kv.entries.keys()].some(key => key.includes('lock')),
    'the lock was released',
  )

  const late = new TokenStore({ kv, seal: new TokenSeal(encryptionKey), log: captureLogs().logger, retryAfterMs: 1000 })
  t.match(
    await late.token(mock.url, app, dispatcher),
    { ok: true, token: mock.exchanges[0]?.token },
    'an instance that starts later reads the shared token',
  )
  t.equal(mock.exchanges.length, 1)

  await stores[0]?.rejected(mock.url, app, mock.exchanges[0]?.token as string)
  t.match(
    await late.token(mock.url, app, dispatcher),
    { ok: true, token: mock.exchanges[0]?.token },
    'another instance keeps its memory until it meets the refusal itself',
  )
  t.match(
    await stores[0]?.token(mock.url, app, dispatcher),
    { ok: true, token: mock.exchanges[1]?.token },
    'the refused token is gone from the shared cache',
  )
  t.equal(mock.exchanges.length, 2)
})

t.test("a sealed token opens only with the deployment's key, and a failing KV does not stop tokens", async t => {
  const mock = await mockCoze(t, keys)
  const kv = sharedKv()
  const app = appFor(mock.host)
  const first = new TokenStore({
    kv,
    seal: new TokenSeal(randomBytes(32)),
    log: captureLogs().logger,
    retryAfterMs: 1000,
  })
  const token = await first.token(mock.url, app, dispatcher)
  t.ok(token.ok)
  const stored = [...kv.entries.values()].map(entry => entry.value)
  t.equal(stored.length, 1)
  t.notOk(stored[0]?.includes(mock.exchanges[0]?.token as string), 'not in the clear')

  const foreign = new TokenStore({
    kv,
    seal: new TokenSeal(randomBytes(32)),
    log: captureLogs().logger,
    retryAfterMs: 1000,
  })
  await foreign.token(mock.url, app, dispatcher)
  t.equal(mock.exchanges.length, 2, 'a store with another key cannot open it and exchanges for itself')

  const logs = captureLogs()
  const broken: KeyValueStore = {
    ...sharedKv(),
    get: () => Promise.reject(new Error('down')),
    set: () => Promise.reject(new Error('down')),
    delete: () => Promise.reject(new Error('down')),
  }
  const store = new TokenStore({
    kv: broken,
    seal: new TokenSeal(randomBytes(32)),
    log: logs.logger,
    retryAfterMs: 1000,
  })
  t.match(await store.token(mock.url, app, dispatcher), { ok: true }, 'the KV is down: a token all the same')
  t.ok(
    logs.lines.some(line => line.includes('the KV store failed')),
    'with a warning',
  )
})

t.test('a failed exchange pauses OAuth on the instance; the caller that saw it is told first', async t => {
  const mock = await mockCoze(t, keys)
  const store = new TokenStore({
    kv: sharedKv(),
    seal: new TokenSeal(randomBytes(32)),
    log: captureLogs().logger,
    retryAfterMs: 60_000,
  })
  const app = appFor(mock.host)
  mock.failExchanges(1, { status: 503, error_code: 'internal_error' })
  const [one, two] = await Promise.all([store.token(mock.url, app, dispatcher), store.token(mock.url, app, dispatcher)])
  t.match(one, { ok: false, first: true, error: { reason: /HTTP 503 internal_error/, refused: false } })
  t.match(two, { ok: false, first: false }, 'a caller that shared the flight is not told first')
  t.match(await store.token(mock.url, app, dispatcher), { ok: false, first: false }, 'paused')
  t.equal(mock.exchanges.length, 1)
})

t.test('a token due for refresh serves out its last minutes when the refresh fails', async t => {
  const mock = await mockCoze(t, keys, { tokenLifetimeSeconds: 100 })
  let skew = 0
  const logs = captureLogs()
  const store = new TokenStore({
    kv: sharedKv(),
    seal: new TokenSeal(randomBytes(32)),
    log: logs.logger,
    retryAfterMs: 60_000,
    now: () => Date.now() + skew,
  })
  const app = appFor(mock.host)
  const first = await store.token(mock.url, app, dispatcher)
  t.match(first, { ok: true })
  // Past the refresh point (80 % of the lifetime), before expiry. The clock now runs 85 s ahead,
  // so Coze refuses the JWT (its iat is not now): the refresh fails.
  skew = 85_000
  t.same(await store.token(mock.url, app, dispatcher), first, 'the refresh failed: the current token still serves')
  t.equal(mock.exchanges.length, 2)
  t.match(mock.exchanges[1], { ok: false, problem: 'iat missing or not now' })
  t.ok(
    logs.lines.some(line => line.includes('the current token serves until it expires')),
    'with a warning',
  )
  skew = 97_000 // within seconds of expiry, and the instance is pausing OAuth
  t.match(await store.token(mock.url, app, dispatcher), { ok: false }, 'a token about to die is not handed out')
})
