import t from 'tap'
import { createTestGateway, missingService, pendingSchemaChanges, testServices } from '@parley/core/testing'
import conversations, { type ConversationOwner } from '../src/index.js'
import { serviceConsumer } from './helpers.js'

/**
 * The service other plugins use (the widget's transcripts): resolved the way they resolve it,
 * from a plugin that requires `conversations`, on both dialects.
 */
const consumer = () => serviceConsumer('transcripts-fixture')

const dialects = [
  { name: 'sqlite', skip: false as string | false, mysqlUrl: undefined as string | undefined },
  { name: 'mysql', skip: missingService('mysql'), mysqlUrl: testServices.mysqlUrl },
]

const alice: ConversationOwner = { kind: 'widget', id: 'client-a:+8613800000001' }
const bob: ConversationOwner = { kind: 'widget', id: 'client-a:+8613800000002' }
const other: ConversationOwner = { kind: 'widget', id: 'client-b:+8613800000001' }
const user: ConversationOwner = { kind: 'user', id: '2' }

for (const dialect of dialects) {
  t.test(`${dialect.name}: migrations match the entities`, { skip: dialect.skip }, async t => {
    const gateway = await createTestGateway({ plugins: [conversations], mysqlUrl: dialect.mysqlUrl })
    t.teardown(gateway.close)
    t.same(await pendingSchemaChanges(gateway), [], 'nothing left to diff')
  })

  t.test(`${dialect.name}: the service stores transcripts per owner`, { skip: dialect.skip }, async t => {
    const { plugin, found } = consumer()
    const gateway = await createTestGateway({ plugins: [conversations, plugin], mysqlUrl: dialect.mysqlUrl })
    t.teardown(gateway.close)
    const service = found.service!
    const deleted: unknown[] = []
    gateway.events.on('conversation.deleted', event => void deleted.push(event))

    const first = await service.create(alice, { model: 'bot' })
    t.match(first, { id: Number, owner: alice, model: 'bot', modelConfigId: null, title: '', titleSource: 'none' })
    t.match(await service.find(alice, first.id), { id: first.id, owner: alice, model: 'bot' }, 'found by its owner')
    t.equal(await service.find(bob, first.id), undefined, 'another external user of the same client: not found')
    t.equal(await service.find(other, first.id), undefined, 'the same external id of another client: not found')
    t.equal(await service.find({ kind: 'user', id: alice.id }, first.id), undefined, 'another owner kind: not found')

    const question = await service.addMessage(alice, first.id, { role: 'user', content: 'Hello' })
    t.match(question, { id: Number, conversationId: first.id, role: 'user', content: 'Hello', status: 'completed' })
    const parts = [
      { type: 'text', text: 'What is this?' },
      { type: 'image_url', image_url: { url: 'parley-object://2/1/images/a.png' } },
    ] as const
    const withImage = await service.addMessage(alice, first.id, { role: 'user', content: parts })
    t.same(withImage.content, parts, 'content parts round-trip, image references as stored')
    const answer = await service.addMessage(alice, first.id, { role: 'assistant', content: '', status: 'in_progress' })
    t.equal(answer.status, 'in_progress')
    await t.rejects(service.addMessage(bob, first.id, { role: 'user', content: 'x' }), {
      code: 'PARLEY_ERR_CONVERSATION_NOT_FOUND',
      statusCode: 404,
    })

    t.equal(
      await service.finishMessage(answer.id, {
        status: 'completed',
        content: 'Hi there',
        usage: { promptTokens: 9, completionTokens: 2 },
      }),
      true,
    )
    t.equal(await service.finishMessage(answer.id, { status: 'failed' }), false, 'an ended message stays as it ended')
    const page = await service.messages(alice, first.id, { page: 1, pageSize: 2 })
    t.equal(page.total, 3)
    t.same(
      page.items.map(message => message.id),
      [question.id, withImage.id],
      'oldest first, paged',
    )
    const last = await service.messages(alice, first.id, { page: 2, pageSize: 2 })
    t.match(last.items, [
      { id: answer.id, content: 'Hi there', status: 'completed', usage: { promptTokens: 9, completionTokens: 2 } },
    ])
    await t.rejects(service.messages(bob, first.id, { page: 1, pageSize: 10 }), {
      code: 'PARLEY_ERR_CONVERSATION_NOT_FOUND',
      statusCode: 404,
    })

    const second = await service.create(bob, { model: 'bot', title: 'Refund 100%_done' })
    const third = await service.create(other, { model: 'bot' })
    const mine = await service.create(user, { model: 'bot' })
    const client = await service.list({ ownerKind: 'widget', ownerIdPrefix: 'client-a:' }, { page: 1, pageSize: 10 })
    t.same(
      client.items.map(c => c.id),
      [second.id, first.id],
      'one widget client, newest first',
    )
    t.equal(client.total, 2)
    const one = await service.list({ ownerKind: 'widget', ownerId: other.id }, { page: 1, pageSize: 10 })
    t.same(
      one.items.map(c => c.id),
      [third.id],
    )
    const users = await service.list({ ownerKind: 'user' }, { page: 1, pageSize: 10 })
    t.same(
      users.items.map(c => c.id),
      [mine.id],
    )
    const searched = await service.list({ ownerKind: 'widget', q: '100%_' }, { page: 1, pageSize: 10 })
    t.same(
      searched.items.map(c => c.id),
      [second.id],
      'search by title; % and _ match themselves',
    )
    t.equal((await service.list({ ownerKind: 'widget', q: '%' }, { page: 1, pageSize: 10 })).total, 1)
    const prefixLike = await service.list({ ownerKind: 'widget', ownerIdPrefix: 'client_' }, { page: 1, pageSize: 10 })
    t.equal(prefixLike.total, 0, 'a prefix is literal too')

    t.equal(await service.remove(bob, [first.id, second.id]), 1, "only bob's own conversation goes")
    t.ok(await service.find(alice, first.id), "alice's is still there")
    t.same(deleted, [{ owner: bob, ids: [second.id] }], 'conversation.deleted names the owner and ids')
    t.equal(await service.remove(alice, [first.id]), 1)
    const rows = await gateway.db
      .em()
      .getConnection()
      .execute('select count(*) as n from conversations_messages where conversation_id = ?', [first.id])
    t.equal(Number((rows as Array<{ n: number }>)[0]?.n), 0, 'its messages went with it')
  })
}
