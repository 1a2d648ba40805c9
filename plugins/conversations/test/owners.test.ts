import t from 'tap'
import { until } from '@parley/core/testing'
import { ADA, boot, json, messagesOf, newConversation, ROOT_USER } from './helpers.js'

/**
 * The IDOR matrix: every route that names a conversation, called by another user on ada's,
 * answers 404 and changes nothing; guests are told why they have no server history.
 */
t.test("another user's conversation is not found on every route, and nothing changes", async t => {
  const { gateway, provider } = await boot(t)
  const id = await newConversation(gateway)
  provider.reply(
    {
      events: [
        { type: 'text', delta: 'Hi' },
        { type: 'done', finishReason: 'stop' },
      ],
    },
    {
      events: [
        { type: 'text', delta: 'Hello' },
        { type: 'done', finishReason: 'stop' },
      ],
    },
  )
  await json(gateway, 'POST', `/api/conversations/${id}/messages`, { content: 'Hello', stream: false })
  // The question's first words are 'Hello' too: wait for the title job's own, or it may land mid-test.
  await until(
    async () => (await json(gateway, 'GET', `/api/conversations/${id}`)).body.title_source === 'generated',
    'titled by the job',
  )
  const [question] = await messagesOf(gateway, id)
  const before = {
    conversation: (await json(gateway, 'GET', `/api/conversations/${id}`)).body,
    messages: await messagesOf(gateway, id),
    calls: provider.calls.length,
  }

  const attempts: Array<[method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown]> = [
    ['GET', `/api/conversations/${id}`],
    ['PUT', `/api/conversations/${id}`, { title: 'mine now' }],
    ['PUT', `/api/conversations/${id}`, { archived: true }],
    ['GET', `/api/conversations/${id}/messages`],
    ['POST', `/api/conversations/${id}/messages`, { content: 'hijack', stream: false }],
    ['POST', `/api/conversations/${id}/regenerate`, { stream: false }],
    ['POST', `/api/conversations/${id}/messages/${question!.id}/edit`, { content: 'edited', stream: false }],
    ['POST', `/api/conversations/${id}/title`],
  ]
  for (const [method, url, payload] of attempts) {
    const answer = await json(gateway, method, url, payload, ROOT_USER)
    t.match(
      answer,
      { status: 404, body: { error: { type: 'not_found', code: 'PARLEY_ERR_CONVERSATION_NOT_FOUND' } } },
      `${method} ${url}`,
    )
  }
  t.same(await json(gateway, 'POST', '/api/conversations/delete', { ids: [id] }, ROOT_USER), {
    status: 200,
    body: { deleted: 0 },
  })
  t.same((await json(gateway, 'GET', '/api/conversations', undefined, ROOT_USER)).body, {
    items: [],
    total: 0,
    page: 1,
    page_size: 20,
  })
  t.same((await json(gateway, 'POST', '/api/conversations/delete-all', undefined, ROOT_USER)).body, { deleted: 0 })
  const exported = await json<{ conversations: unknown[] }>(
    gateway,
    'GET',
    '/api/conversations/export',
    undefined,
    ROOT_USER,
  )
  t.same(exported.body.conversations, [], "an export holds the caller's own only")

  t.same(
    (await json(gateway, 'GET', `/api/conversations/${id}`)).body,
    before.conversation,
    'the conversation is as it was',
  )
  t.same(await messagesOf(gateway, id), before.messages, 'its messages are as they were')
  t.equal(provider.calls.length, before.calls, 'no upstream call was made for the intruder')
})

t.test('guests are told they have no server history; anonymous callers must sign in', async t => {
  const { gateway } = await boot(t, { config: { settings: { allow_guest: true } } })
  const guest = { 'x-guest': 'default' }
  for (const [method, url, payload] of [
    ['GET', '/api/conversations'],
    ['POST', '/api/conversations', { model: 'bot' }],
    ['GET', '/api/conversations/1/messages'],
    ['POST', '/api/conversations/1/messages', { content: 'hi' }],
    ['GET', '/api/conversations/export'],
  ] as const) {
    t.match(await json(gateway, method, url, payload, guest), {
      status: 403,
      body: { error: { code: 'PARLEY_ERR_CONVERSATION_GUEST', message: /Guests have no server history: sign in/ } },
    })
    t.match(await json(gateway, method, url, payload, {}), { status: 401 })
  }
  const zh = await json(gateway, 'GET', '/api/conversations', undefined, { ...guest, 'accept-language': 'zh-CN' })
  t.match(zh.body, { error: { message: /访客没有服务器端历史/ } })
  t.equal((await json(gateway, 'GET', '/api/conversations', undefined, ADA)).status, 200)
})
