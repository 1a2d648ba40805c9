import t from 'tap'
import { createTestGateway, missingService, testServices } from '@parley/core/testing'
import notes from './fixtures/notes-plugin/index.js'

// The fixture plugin is built like a third-party plugin: these are its user-visible behaviours.

t.test("the plugin's setting bounds its route and changes live", async t => {
  const gateway = await createTestGateway({ plugins: [notes] })
  t.teardown(gateway.close)
  const long = 'x'.repeat(250)
  const refused = await gateway.inject({ method: 'POST', url: '/api/notes', payload: { body: long } })
  t.equal(refused.statusCode, 400)
  t.same(refused.json(), {
    error: {
      type: 'invalid_request',
      message: 'A note may have at most 200 characters',
      code: 'PARLEY_ERR_NOTES_TOO_LONG',
    },
  })
  const chinese = await gateway.inject({
    method: 'POST',
    url: '/api/notes',
    headers: { 'accept-language': 'zh-CN' },
    payload: { body: long },
  })
  t.same(
    chinese.json(),
    {
      error: { type: 'invalid_request', message: '笔记最多 200 个字符', code: 'PARLEY_ERR_NOTES_TOO_LONG' },
    },
    "the plugin's zh message for a caller who reads Chinese",
  )
  await gateway.settings.set('notes.max_length', 300)
  const accepted = await gateway.inject({ method: 'POST', url: '/api/notes', payload: { body: long } })
  t.equal(accepted.statusCode, 201)
  const listed = await gateway.inject({ url: '/api/notes' })
  t.equal(listed.json().total, 1, 'the refused note was not stored')
})

t.test('unknown fields are refused and change nothing', async t => {
  const gateway = await createTestGateway({ plugins: [notes] })
  t.teardown(gateway.close)
  const response = await gateway.inject({ method: 'POST', url: '/api/notes', payload: { body: 'a', author: 'x' } })
  t.equal(response.statusCode, 400)
  t.equal(response.json().error.type, 'invalid_request')
  t.equal((await gateway.inject({ url: '/api/notes' })).json().total, 0)
})

t.test('a database that is down answers a clear 503, not a 500', async t => {
  const gateway = await createTestGateway({ plugins: [notes] })
  t.teardown(gateway.close)
  await gateway.db.close()
  const response = await gateway.inject({ url: '/api/notes' })
  t.equal(response.statusCode, 503)
  t.same(response.json(), {
    error: {
      type: 'service_unavailable',
      message: 'The database is not available right now; try again shortly',
      code: 'PARLEY_ERR_DB_UNAVAILABLE',
    },
  })
})

t.test("the plugin's routes are in the OpenAPI document", async t => {
  const gateway = await createTestGateway({ plugins: [notes] })
  t.teardown(gateway.close)
  const doc = (await gateway.inject({ url: '/docs/json' })).json()
  t.ok(doc.paths['/api/notes']?.post, 'POST /api/notes documented')
  t.same(doc.paths['/api/notes'].post.tags, ['notes'])
})

t.test(
  "with Redis the plugin's job runs on BullMQ, and the test kit leaves no keys behind",
  { skip: missingService('redis') },
  async t => {
    const gateway = await createTestGateway({ plugins: [notes], redisUrl: testServices.redisUrl })
    t.equal(gateway.jobs.kind, 'bullmq')
    t.equal(gateway.kv.kind, 'redis')
    await gateway.inject({ method: 'POST', url: '/api/notes', payload: { body: 'queued' } })
    t.equal((await gateway.inject({ method: 'POST', url: '/api/notes/archive' })).statusCode, 202)
    const deadline = Date.now() + 5000
    while ((await gateway.inject({ url: '/api/notes' })).json().items[0]?.archived !== true && Date.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, 25))
    }
    t.equal(
      (await gateway.inject({ url: '/api/notes' })).json().items[0]?.archived,
      true,
      'archived by the BullMQ worker',
    )
    const prefix = gateway.config.redis.prefix
    await gateway.close()
    const { Redis } = await import('ioredis')
    const redis = new Redis(testServices.redisUrl as string)
    t.teardown(() => redis.disconnect())
    t.same(await redis.keys(`${prefix}*`), [], 'nothing left under the test prefix')
  },
)
