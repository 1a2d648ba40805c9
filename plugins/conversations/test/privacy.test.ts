import t from 'tap'
import { RETENTION_JOB } from '@parley/core'
import { until } from '@parley/core/testing'
import { ADA, boot, json, messagesOf, newConversation } from './helpers.js'

type Listed = { items: Array<{ id: number; title: string }>; total: number; page: number; page_size: number }

t.test('the list is newest first, searchable by title and paged; rename and delete', async t => {
  const { gateway } = await boot(t)
  const ids: number[] = []
  for (const title of ['Trip to Lisbon', 'Tax return', 'Lisbon hotels', '100% sure']) {
    const created = await json<{ id: number }>(gateway, 'POST', '/api/conversations', { model: 'bot', title })
    t.equal(created.status, 201)
    t.match(created.body, { id: Number, title, model: 'bot', created_at: String, updated_at: String })
    ids.push(created.body.id)
  }
  const all = await json<Listed>(gateway, 'GET', '/api/conversations')
  t.same(
    all.body.items.map(item => item.id),
    [...ids].reverse(),
  )
  t.match(all.body, { total: 4, page: 1, page_size: 20 })
  const lisbon = await json<Listed>(gateway, 'GET', '/api/conversations?q=LISBON')
  t.same(
    lisbon.body.items.map(item => item.title),
    ['Lisbon hotels', 'Trip to Lisbon'],
  )
  t.equal((await json<Listed>(gateway, 'GET', '/api/conversations?q=%25')).body.total, 1, '% is literal')
  const second = await json<Listed>(gateway, 'GET', '/api/conversations?page=2&page_size=3')
  t.match(second.body, { total: 4, page: 2, page_size: 3, items: [{ id: ids[0] }] })
  t.equal((await json(gateway, 'GET', '/api/conversations?page_size=101')).status, 400)

  const renamed = await json(gateway, 'PUT', `/api/conversations/${ids[1]}`, { title: 'Taxes 2026' })
  t.match(renamed.body, { title: 'Taxes 2026', title_source: 'user' })
  t.equal((await json(gateway, 'PUT', `/api/conversations/${ids[1]}`, { title: '' })).status, 400)
  t.same((await json(gateway, 'POST', '/api/conversations/delete', { ids: [ids[0], ids[1], 999_999] })).body, {
    deleted: 2,
  })
  t.equal((await json<Listed>(gateway, 'GET', '/api/conversations')).body.total, 2)
})

t.test('a user exports everything as JSON or Markdown and deletes all of it', async t => {
  const { gateway, provider } = await boot(t)
  const deleted: unknown[] = []
  gateway.events.on('conversation.deleted', event => void deleted.push(event))
  const id = await newConversation(gateway)
  provider.reply(
    {
      events: [
        { type: 'text', delta: 'A **bold** answer' },
        { type: 'done', finishReason: 'stop' },
      ],
    },
    {
      events: [
        { type: 'text', delta: 'Export test' },
        { type: 'done', finishReason: 'stop' },
      ],
    },
  )
  await json(gateway, 'POST', `/api/conversations/${id}/messages`, { content: 'Question one', stream: false })
  await until(
    async () => (await json(gateway, 'GET', `/api/conversations/${id}`)).body.title === 'Export test',
    'titled',
  )
  await newConversation(gateway)

  const exported = await gateway.inject({ method: 'GET', url: '/api/conversations/export', headers: ADA })
  t.equal(exported.statusCode, 200)
  t.match(exported.headers['content-disposition'], /attachment; filename="conversations-\d{4}-\d\d-\d\d\.json"/)
  const body = exported.json() as { conversations: Array<{ id: number; messages: unknown[] }> }
  t.equal(body.conversations.length, 2)
  t.match(body.conversations[1], {
    id,
    title: 'Export test',
    messages: [
      { role: 'user', content: 'Question one', status: 'completed' },
      { role: 'assistant', content: 'A **bold** answer', status: 'completed' },
    ],
  })

  const markdown = await gateway.inject({
    method: 'GET',
    url: '/api/conversations/export?format=markdown',
    headers: ADA,
  })
  t.match(markdown.headers['content-type'], /text\/markdown/)
  t.match(
    markdown.body,
    /## Export test\n\n_bot · [^\n]+_\n\n\*\*You\*\* · [^\n]+\n\nQuestion one\n\n\*\*Assistant\*\* · [^\n]+\n\nA \*\*bold\*\* answer/,
  )
  t.equal((await json(gateway, 'GET', '/api/conversations/export?format=pdf')).status, 400)

  t.same((await json(gateway, 'POST', '/api/conversations/delete-all')).body, { deleted: 2 })
  t.equal((await json<Listed>(gateway, 'GET', '/api/conversations')).body.total, 0)
  t.equal((await json(gateway, 'GET', `/api/conversations/${id}/messages`)).status, 404)
  t.match(deleted, [{ owner: { kind: 'user', id: '2' }, ids: Array }])
  t.equal(deleted.flatMap(event => (event as { ids: number[] }).ids).length, 2, 'conversation.deleted names every id')
})

t.test('retention deletes conversations idle for retention_days; 0 keeps them', async t => {
  const { gateway } = await boot(t)
  const old = await newConversation(gateway)
  const fresh = await newConversation(gateway)
  const long_ago = new Date(Date.now() - 40 * 86_400_000)
  await gateway.db.em().getConnection().execute('update conversations set updated_at = ? where id = ?', [long_ago, old])
  await gateway.jobs.enqueue(RETENTION_JOB, {})
  await new Promise(resolve => setTimeout(resolve, 300))
  t.equal((await json<Listed>(gateway, 'GET', '/api/conversations')).body.total, 2, '0 days keeps everything')

  await gateway.settings.set('conversations.retention_days', 30)
  await gateway.jobs.enqueue(RETENTION_JOB, {})
  await until(async () => (await json<Listed>(gateway, 'GET', '/api/conversations')).body.total === 1, 'pruned')
  t.same(
    (await json<Listed>(gateway, 'GET', '/api/conversations')).body.items.map(item => item.id),
    [fresh],
  )
  t.same(await messagesOf(gateway, fresh), [])
})
