import t from 'tap'
import { missingService, testServices, until } from '@parley/core/testing'
import { boot, json, newConversation } from './helpers.js'

/** The title job on BullMQ (Redis): the same result as in-process, one run per conversation. */
t.test(
  'the title job runs on BullMQ, once per conversation, and retries a failed attempt',
  { skip: missingService('redis') },
  async t => {
    const { gateway, provider } = await boot(t, { redisUrl: testServices.redisUrl })
    t.equal(gateway.jobs.kind, 'bullmq')
    const id = await newConversation(gateway)
    provider.reply(
      {
        events: [
          { type: 'text', delta: 'Bonjour !' },
          { type: 'done', finishReason: 'stop' },
        ],
      },
      // The first title attempt fails; the retry names it.
      { events: [{ type: 'text', delta: 'x' }], throwAfter: 0 },
      {
        events: [
          { type: 'text', delta: 'Salutations en français' },
          { type: 'done', finishReason: 'stop' },
        ],
      },
    )
    await json(gateway, 'POST', `/api/conversations/${id}/messages`, { content: 'Dis bonjour', stream: false })
    await until(
      async () => (await json(gateway, 'GET', `/api/conversations/${id}`)).body.title_source === 'generated',
      'titled',
      15_000,
    )
    t.match((await json(gateway, 'GET', `/api/conversations/${id}`)).body, { title: 'Salutations en français' })
    t.equal(provider.calls.length, 3, 'one answer, two title attempts')
    const runs = await gateway.jobs.runs('conversations.title', { state: 'all', page: 1, pageSize: 10 })
    t.equal(runs.total, 1, 'one run for the conversation')
    t.notOk(JSON.stringify(runs.items).includes('Dis bonjour'), 'the run shows no content')
  },
)

t.test('a title model that keeps failing leaves the first words, never an error', async t => {
  const { gateway, provider } = await boot(t)
  const id = await newConversation(gateway)
  const broken = { events: [{ type: 'text', delta: 'x' }], throwAfter: 0 } as const
  provider.reply(
    {
      events: [
        { type: 'text', delta: 'Sure.' },
        { type: 'done', finishReason: 'stop' },
      ],
    },
    broken,
    broken,
    broken,
  )
  await json(gateway, 'POST', `/api/conversations/${id}/messages`, {
    content: 'Please explain how the tides depend on the moon and the sun in simple words',
    stream: false,
  })
  await until(() => provider.calls.length === 4, 'three title attempts', 20_000)
  await until(
    async () => (await gateway.jobs.runs('conversations.title', { state: 'failed', page: 1, pageSize: 5 })).total === 1,
    'the run failed',
  )
  t.match((await json(gateway, 'GET', `/api/conversations/${id}`)).body, {
    title: 'Please explain how the tides depend on…',
    title_source: 'question',
  })
})
