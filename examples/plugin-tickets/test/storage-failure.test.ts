import t from 'tap'
import { definePlugin, type ObjectStorage } from '@parley/core'
import { createTestGateway } from '@parley/core/testing'
import tickets from '../src/index.js'
import { ada, callers, png, snapshot } from './helpers.js'

// A storage that fails in the middle of a ticket's attachments: no half ticket is left, and
// the object already written is deleted again.
t.test('a storage failure leaves no ticket, no rows and no objects', async t => {
  const objects = new Map<string, Uint8Array>()
  let puts = 0
  const refusing: ObjectStorage = {
    async put(key, body) {
      if (++puts === 2) throw new Error('disk full')
      objects.set(key, body)
    },
    async delete(key) {
      objects.delete(key)
    },
    async get() {
      return undefined
    },
    async head() {
      return undefined
    },
    async presignPut() {
      throw new Error('not used')
    },
    async presignGet() {
      throw new Error('not used')
    },
    async ping() {},
    describe: () => 'fails its second put',
  }
  const storage = definePlugin({
    id: 'refusing-storage',
    version: '1.0.0',
    setup(ctx) {
      ctx.storage.register('refusing', refusing)
    },
  })
  const gateway = await createTestGateway({ plugins: [callers, storage, tickets] })
  t.teardown(gateway.close)
  const before = await snapshot(gateway)

  const response = await gateway.inject({
    method: 'POST',
    url: '/api/tickets',
    headers: ada,
    payload: { subject: 'Two files', body: 'b', attachments: [png, png] },
  })
  t.equal(response.statusCode, 500)
  t.match(response.json(), { error: { type: 'internal_error' } })
  t.notMatch(response.body, /disk full|at .*\.ts/, 'no cause and no stack reach the caller')
  t.equal(puts, 2, 'the second object failed')
  t.same([...objects.keys()], [], 'the first object was deleted again')
  t.same(await snapshot(gateway), before, 'no ticket, message or attachment row')
})
