import t from 'tap'
import conversations from '@parley/conversations'
import { ROOT, until } from '@parley/core/testing'
import { createClient, createSession, readEvents, widgetGateway } from './helpers.js'

/** Transcripts through the conversations service: question at arrival, answer in progress, then completed. */

interface Line {
  readonly external_user_id: string
  readonly role: string
  readonly content: unknown
  readonly status: string
}

t.test('with transcripts on, each exchange is stored; an admin lists and exports them', async t => {
  const { gateway, upstream } = await widgetGateway(t, { listen: true, plugins: [conversations] })
  const client = await createClient(gateway, { transcripts: true })
  const silent = await createClient(gateway, { name: 'No transcripts' })
  const token = await createSession(gateway, client, 'alice')
  const admin = { authorization: `Bearer ${ROOT}` }
  const exported = async (id: number): Promise<Line[]> => {
    const response = await gateway.inject({
      method: 'GET',
      url: `/api/admin/widget-clients/${id}/transcripts/export`,
      headers: admin,
    })
    t.equal(response.statusCode, 200)
    return response.body
      .split('\n')
      .filter(line => line !== '')
      .map(line => JSON.parse(line) as Line)
  }

  upstream.reply({ text: 'one two three four five six', chunkDelayMs: 80 })
  const response = await fetch(`${gateway.url}/api/widget/chat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'Count to six' }] }),
  })
  const reading = readEvents(response)
  await until(async () => (await exported(client.id)).length === 2, 'question and answer stored at once')
  t.match(await exported(client.id), [
    { external_user_id: 'alice', role: 'user', content: 'Count to six', status: 'completed' },
    { role: 'assistant', status: 'in_progress' },
  ])
  await reading
  await until(async () => (await exported(client.id))[1]?.status === 'completed', 'the answer completed')
  t.match((await exported(client.id))[1], {
    role: 'assistant',
    content: 'one two three four five six',
    status: 'completed',
  })

  const list = await gateway.inject({
    method: 'GET',
    url: `/api/admin/widget-clients/${client.id}/transcripts`,
    headers: admin,
  })
  t.match(list.json(), {
    items: [{ external_user_id: 'alice', title: 'Count to six' }],
    total: 1,
    page: 1,
    page_size: 20,
  })
  t.same(await exported(silent.id), [], "another client's transcripts are its own")
  const anonymous = await gateway.inject({ method: 'GET', url: `/api/admin/widget-clients/${client.id}/transcripts` })
  t.equal(anonymous.statusCode, 401)
})
