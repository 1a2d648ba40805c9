import t from 'tap'
import { boot, json, newConversation } from './helpers.js'

interface Listed {
  items: Array<{ id: number; title: string; title_source: string; archived: boolean }>
  total: number
}

const ids = async (gateway: Parameters<typeof json>[0], query = '') =>
  (await json<Listed>(gateway, 'GET', `/api/conversations${query}`)).body.items.map(item => item.id)

t.test('an archived conversation leaves the list, keeps its title, and comes back', async t => {
  const { gateway } = await boot(t)
  const kept = await newConversation(gateway)
  const old = await newConversation(gateway)
  await json(gateway, 'PUT', `/api/conversations/${old}`, { title: 'Tax return 2025' })

  const archived = await json(gateway, 'PUT', `/api/conversations/${old}`, { archived: true })
  t.match(archived, { status: 200, body: { id: old, archived: true, title: 'Tax return 2025', title_source: 'user' } })
  t.same(await ids(gateway), [kept], 'the list holds the active one only')
  t.same(await ids(gateway, '?archived=true'), [old], 'archived=true lists the archived one')
  t.same(await ids(gateway, '?archived=true&q=tax'), [old], 'search works among the archived')
  t.match((await json(gateway, 'GET', `/api/conversations/${old}`)).body, { archived: true }, 'it can still be opened')
  const exported = await json<{ conversations: Array<{ id: number }> }>(gateway, 'GET', '/api/conversations/export')
  t.same(exported.body.conversations.map(c => c.id).sort(), [kept, old].sort(), 'an export holds archived ones too')

  const both = await json(gateway, 'PUT', `/api/conversations/${old}`, { title: 'Taxes', archived: false })
  t.match(both, { status: 200, body: { archived: false, title: 'Taxes' } }, 'title and flag in one request')
  t.same((await ids(gateway)).sort(), [kept, old].sort(), 'back in the list')
  t.same(await ids(gateway, '?archived=true'), [])
})

t.test('an update with nothing to change, or a wrong flag, is refused and changes nothing', async t => {
  const { gateway } = await boot(t)
  const id = await newConversation(gateway)
  const before = (await json(gateway, 'GET', `/api/conversations/${id}`)).body
  for (const payload of [{}, { archived: 'yes' }, { archived: true, owner: 'root' }, { title: '' }]) {
    const answer = await json<{ error: { type: string; message: string } }>(
      gateway,
      'PUT',
      `/api/conversations/${id}`,
      payload,
    )
    t.equal(answer.status, 400, JSON.stringify(payload))
    t.equal(answer.body.error.type, 'invalid_request')
  }
  t.same((await json(gateway, 'GET', `/api/conversations/${id}`)).body, before)
  t.equal((await json(gateway, 'GET', '/api/conversations?archived=maybe')).status, 400)
})
