import t from 'tap'
import { missingService, testServices, until } from '@parley/core/testing'
import { boot, json, messagesOf, newConversation } from './helpers.js'

/** The HTTP API on MySQL/MariaDB: what SQLite does in the other files, end to end on the other dialect. */
t.test('mysql: send, regenerate, search, export and delete', { skip: missingService('mysql') }, async t => {
  const { gateway, provider } = await boot(t, { mysqlUrl: testServices.mysqlUrl })
  const id = await newConversation(gateway)
  provider.reply(
    {
      events: [
        { type: 'text', delta: '潮汐来自月亮。' },
        { type: 'usage', promptTokens: 5, completionTokens: 7 },
        { type: 'done', finishReason: 'stop' },
      ],
    },
    {
      events: [
        { type: 'text', delta: '潮汐与月亮' },
        { type: 'done', finishReason: 'stop' },
      ],
    },
  )
  const answered = await json(gateway, 'POST', `/api/conversations/${id}/messages`, {
    content: '为什么有潮汐？',
    stream: false,
  })
  t.equal(answered.status, 200)
  await until(
    async () => (await json(gateway, 'GET', `/api/conversations/${id}`)).body.title === '潮汐与月亮',
    'titled',
  )
  t.match(await messagesOf(gateway, id), [
    { role: 'user', content: '为什么有潮汐？' },
    {
      role: 'assistant',
      content: '潮汐来自月亮。',
      status: 'completed',
      usage: { prompt_tokens: 5, completion_tokens: 7 },
    },
  ])
  provider.reply({
    events: [
      { type: 'text', delta: '再答一次。' },
      { type: 'done', finishReason: 'stop' },
    ],
  })
  await json(gateway, 'POST', `/api/conversations/${id}/regenerate`, { stream: false })
  await until(async () => (await messagesOf(gateway, id))[1]?.content === '再答一次。', 'regenerated')
  t.equal((await messagesOf(gateway, id)).length, 2)
  const found = await json<{ total: number }>(gateway, 'GET', `/api/conversations?q=${encodeURIComponent('月亮')}`)
  t.equal(found.body.total, 1, 'a search in Chinese finds it')
  const exported = await json<{ conversations: Array<{ messages: unknown[] }> }>(
    gateway,
    'GET',
    '/api/conversations/export',
  )
  t.equal(exported.body.conversations[0]?.messages.length, 2)
  t.same((await json(gateway, 'POST', '/api/conversations/delete', { ids: [id] })).body, { deleted: 1 })
  t.equal((await json(gateway, 'GET', `/api/conversations/${id}/messages`)).status, 404)
})
