/**
 * Which storage driver is active: `storage.driver` or the only one loaded, offered to every
 * plugin as TOKENS.storage, with a readiness check (not critical, successes reused) and a
 * doctor check of the chosen driver.
 */
import t from 'tap'
import { ActiveStorage, definePlugin, TOKENS, type ObjectStorage, type StoredObjectInfo } from '../src/index.js'
import { cachedWhileOk } from '../src/storage/active.js'
import { createTestGateway } from '../src/testing/index.js'

/** A driver that keeps objects in memory and counts pings; `failing` makes ping reject. */
function memoryDriver(
  name: string,
  state: { pings: number; failing?: boolean } = { pings: 0 },
): ObjectStorage & { state: typeof state } {
  const objects = new Map<string, StoredObjectInfo & { bytes: Uint8Array }>()
  return {
    state,
    async presignPut(key, options) {
      return {
        url: `mem://${name}/${key}`,
        method: 'PUT',
        headers: { 'content-type': options.contentType },
        expiresAt: new Date(Date.now() + options.expiresInSeconds * 1000),
      }
    },
    async presignGet(key, options) {
      return { url: `mem://${name}/${key}`, expiresAt: new Date(Date.now() + options.expiresInSeconds * 1000) }
    },
    async put(key, bytes, options) {
      objects.set(key, { bytes, contentType: options.contentType, size: bytes.length })
    },
    async get(key) {
      const object = objects.get(key)
      if (!object) return undefined
      const { bytes } = object
      return {
        contentType: object.contentType,
        size: object.size,
        body: (async function* () {
          yield bytes
        })(),
      }
    },
    async head(key) {
      const object = objects.get(key)
      return object && { contentType: object.contentType, size: object.size }
    },
    async delete(key) {
      objects.delete(key)
    },
    async ping() {
      state.pings++
      if (state.failing) throw new Error(`${name} is down`)
    },
    describe: () => `memory ${name}`,
  }
}

function driverPlugin(id: string, name: string, driver: ObjectStorage = memoryDriver(name)) {
  return definePlugin({ id, version: '1.0.0', setup: ctx => ctx.storage.register(name, driver) })
}

/** A consumer in the style of the upload API: resolves the token in setup, uses it in a route. */
const consumer = definePlugin({
  id: 'consumer',
  version: '1.0.0',
  async setup(ctx) {
    const storage = ctx.container.resolve<ObjectStorage>(TOKENS.storage)
    const early = await storage.head('x').then(
      () => 'resolved',
      (error: { code: string; message: string }) => `${error.code}: ${error.message}`,
    )
    ctx.http.get('/early', async () => ({ early }))
    ctx.http.post('/things/:name', async request => {
      const { name } = request.params as { name: string }
      await storage.put(`things/${name}`, Buffer.from(name), { contentType: 'text/plain' })
      return {
        head: await storage.head(`things/${name}`),
        upload: await storage.presignPut(`things/${name}`, {
          contentType: 'text/plain',
          contentLength: 1,
          expiresInSeconds: 60,
        }),
      }
    })
  },
})

t.test('the only driver loaded is active; plugins resolve it in setup and use it afterwards', async t => {
  const gateway = await createTestGateway({ plugins: [consumer, driverPlugin('mem-a', 'mem')] })
  t.teardown(gateway.close)
  const active = gateway.container.resolve<ActiveStorage>(TOKENS.storage)
  t.ok(active instanceof ActiveStorage)
  t.equal(active.driver, 'mem')
  t.equal(active.describe(), 'driver mem: memory mem')
  t.match(
    (await gateway.inject({ method: 'GET', url: '/early' })).json(),
    { early: /^PARLEY_ERR_STORAGE_UNAVAILABLE: .*chosen once every plugin is set up/ },
    'during setup the driver is not chosen yet',
  )
  const used = await gateway.inject({ method: 'POST', url: '/things/abc' })
  t.match(used.json(), {
    head: { contentType: 'text/plain', size: 3 },
    upload: { url: 'mem://mem/things/abc', method: 'PUT' },
  })
})

t.test('storage.driver names one of several; several without a name, or an unknown name, stop the start', async t => {
  const a = memoryDriver('alpha')
  const b = memoryDriver('beta')
  const gateway = await createTestGateway({
    plugins: [driverPlugin('p-a', 'alpha', a), driverPlugin('p-b', 'beta', b)],
    config: { storage: { driver: 'beta' } },
  })
  t.teardown(gateway.close)
  const active = gateway.container.resolve<ObjectStorage>(TOKENS.storage)
  await active.put('k', Buffer.from('v'), { contentType: 'text/plain' })
  t.same(await b.head('k'), { contentType: 'text/plain', size: 1 }, 'written to the named driver')
  t.equal(await a.head('k'), undefined)

  await t.rejects(createTestGateway({ plugins: [driverPlugin('p-a', 'alpha'), driverPlugin('p-b', 'beta')] }), {
    code: 'PARLEY_ERR_STORAGE_DRIVER',
    message:
      'storage.driver: several drivers are loaded (alpha, beta); name the one to use, e.g. storage.driver: alpha',
  })
  await t.rejects(
    createTestGateway({ plugins: [driverPlugin('p-a', 'alpha')], config: { storage: { driver: 's3' } } }),
    {
      code: 'PARLEY_ERR_STORAGE_DRIVER',
      message: /no loaded plugin registers a driver named "s3" \(registered: alpha\)/,
    },
  )
  await t.rejects(createTestGateway({ config: { storage: { driver: 'S3!' } } }), {
    code: 'PARLEY_ERR_CONFIG_INVALID',
    message: /storage\.driver/,
  })
})

t.test('without a driver: calls say so, no readiness check, doctor notes it', async t => {
  const gateway = await createTestGateway({ plugins: [consumer] })
  t.teardown(gateway.close)
  const active = gateway.container.resolve<ActiveStorage>(TOKENS.storage)
  t.equal(active.driver, undefined)
  await t.rejects(active.presignGet('a', { expiresInSeconds: 60 }), {
    code: 'PARLEY_ERR_STORAGE_UNAVAILABLE',
    statusCode: 503,
    message: /no storage driver is loaded/,
  })
  const used = await gateway.inject({ method: 'POST', url: '/things/x' })
  t.equal(used.statusCode, 503)
  t.notOk('storage' in (await gateway.inject({ method: 'GET', url: '/readyz' })).json().checks)
  const doctor = gateway.registries.doctor.get('storage')
  t.match(await doctor?.run(), /no driver loaded: uploads are off/)
})

t.test('/readyz checks the active driver, degraded (not unready) when it fails; doctor pings it', async t => {
  const state = { pings: 0, failing: false }
  const gateway = await createTestGateway({ plugins: [driverPlugin('mem-a', 'mem', memoryDriver('mem', state))] })
  t.teardown(gateway.close)
  const first = await gateway.inject({ method: 'GET', url: '/readyz' })
  t.equal(first.statusCode, 200)
  t.match(first.json(), { status: 'ready', checks: { storage: { ok: true } } })
  await gateway.inject({ method: 'GET', url: '/readyz' })
  t.equal(state.pings, 1, 'a success is reused: one probe object per 30 s, not one per probe')

  const failing = { pings: 0, failing: true }
  const down = await createTestGateway({ plugins: [driverPlugin('mem-a', 'mem', memoryDriver('mem', failing))] })
  t.teardown(down.close)
  const degraded = await down.inject({ method: 'GET', url: '/readyz' })
  t.equal(degraded.statusCode, 200, 'chat still works without storage: the instance stays in the balancer')
  t.match(degraded.json(), { status: 'degraded', checks: { storage: { ok: false, error: 'mem is down' } } })
  await down.inject({ method: 'GET', url: '/readyz' })
  t.equal(failing.pings, 2, 'a failure is asked again at the next probe')

  const doctor = gateway.registries.doctor.get('storage')
  t.equal(doctor?.title, 'Object storage')
  t.equal(await doctor?.run(), 'driver mem: memory mem; a probe object was written, read back and deleted')
  await t.rejects(down.registries.doctor.get('storage')?.run() ?? Promise.resolve(), /mem is down/)
})

t.test('cachedWhileOk: successes reused for the window, runs shared, failures not kept', async t => {
  let clock = 0
  let calls = 0
  let fail = false
  let release: () => void = () => undefined
  const check = cachedWhileOk(
    () => {
      calls++
      return new Promise<void>((resolve, reject) => {
        release = () => (fail ? reject(new Error('down')) : resolve())
      })
    },
    1000,
    () => clock,
  )
  const one = check()
  const two = check()
  release()
  await Promise.all([one, two])
  t.equal(calls, 1, 'two callers, one run')
  clock = 999
  await check()
  t.equal(calls, 1, 'within the window')
  clock = 1000
  const three = check()
  fail = true
  release()
  await t.rejects(three, /down/)
  const four = check()
  fail = false
  release()
  await four
  t.equal(calls, 3, 'after a failure the next call runs again')
})
