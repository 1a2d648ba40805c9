import t from 'tap'
import {
  createTestGateway,
  fixtureAuth,
  missingService,
  providerPlugin,
  scriptedProvider,
  testServices,
  until,
} from '@parley/core/testing'
import conversations from '../src/index.js'
import { ADA, boot, json, messagesOf, newConversation, serviceConsumer } from './helpers.js'

const skip = missingService('mysql') || missingService('redis')

/** Two instances on one database and one Redis, as behind a load balancer. */
t.test('one answer at a time per conversation across two instances', { skip }, async t => {
  const { gateway: first, provider } = await boot(t, {
    mysqlUrl: testServices.mysqlUrl,
    redisUrl: testServices.redisUrl,
  })
  const otherProvider = scriptedProvider()
  const second = await createTestGateway({
    listen: true,
    sharedWith: first,
    plugins: [fixtureAuth, providerPlugin('scripted', otherProvider), conversations],
  })
  t.teardown(second.close)
  const id = await newConversation(first)

  provider.reply({
    events: [
      ...Array.from({ length: 40 }, () => ({ type: 'text', delta: 'tick ' }) as const),
      { type: 'done', finishReason: 'stop' },
    ],
    delayMs: 50,
  })
  const running = await fetch(`${first.url}/api/conversations/${id}/messages`, {
    method: 'POST',
    headers: { ...ADA, 'content-type': 'application/json' },
    body: JSON.stringify({ content: 'Count' }),
  })
  const reader = running.body!.getReader()
  await reader.read()

  const refused = await json(second, 'POST', `/api/conversations/${id}/messages`, { content: 'meanwhile' })
  t.match(
    refused,
    { status: 409, body: { error: { code: 'PARLEY_ERR_CONVERSATION_BUSY' } } },
    'the other instance refuses',
  )
  const again = await json(second, 'POST', `/api/conversations/${id}/regenerate`, {})
  t.equal(again.status, 409, 'regenerate too')
  t.equal(otherProvider.calls.length, 0, 'no upstream call from the other instance')

  while (!(await reader.read()).done);
  await until(async () => (await messagesOf(first, id))[1]?.status === 'completed', 'answered')
  const next = await json(second, 'POST', `/api/conversations/${id}/messages`, { content: 'Next?', stream: false })
  t.equal(next.status, 200, 'once the answer ended, the other instance answers')
  t.match(await messagesOf(first, id), [
    { role: 'user', content: 'Count' },
    { role: 'assistant', status: 'completed' },
    { role: 'user', content: 'Next?' },
    // Either instance's worker may run the title job, so this answer's text is not pinned.
    { role: 'assistant', status: 'completed' },
  ])
})

t.test('an answer left in progress by a stopped instance does not block the conversation', { skip }, async t => {
  const { gateway: first, provider } = await boot(t, {
    mysqlUrl: testServices.mysqlUrl,
    redisUrl: testServices.redisUrl,
  })
  const { plugin: consumer, found } = serviceConsumer()
  const second = await createTestGateway({
    listen: true,
    sharedWith: first,
    plugins: [fixtureAuth, providerPlugin('scripted', scriptedProvider()), conversations, consumer],
  })
  t.teardown(second.close)
  const id = await newConversation(first)
  // The second instance stores a question and an in-progress answer, then stops before it ends.
  const owner = { kind: 'user', id: '2' } as const
  const service = found.service!
  await service.addMessage(owner, id, { role: 'user', content: 'Lost' })
  await service.addMessage(owner, id, { role: 'assistant', content: '', status: 'in_progress' })
  const busy = await json(first, 'POST', `/api/conversations/${id}/messages`, { content: 'Hello?', stream: false })
  t.equal(busy.status, 409, 'while that instance lives, its answer holds the conversation')
  await second.close()

  provider.reply({
    events: [
      { type: 'text', delta: 'Here' },
      { type: 'done', finishReason: 'stop' },
    ],
  })
  const answered = await json(first, 'POST', `/api/conversations/${id}/messages`, { content: 'Hello?', stream: false })
  t.equal(answered.status, 200, 'after it stopped, the conversation answers again')
})
