import t from 'tap'
import { missingService } from '@parley/core/testing'
import { ada, adaToken, admin, bob, boot, png, PNG, snapshot, type Dialect } from './helpers.js'

// The whole life of a ticket on both dialects: opened with a file, answered, read, closed.
for (const dialect of ['sqlite', 'mysql'] as Dialect[]) {
  const skip = dialect === 'mysql' ? missingService('mysql') : false

  t.test(`${dialect}: open with an attachment, answer, notice, read, close`, { skip }, async t => {
    const gateway = await boot(t, dialect)
    const opened = await gateway.inject({
      method: 'POST',
      url: '/api/tickets',
      headers: ada,
      payload: { subject: 'Cannot sign in', body: 'See the screenshot', attachments: [png] },
    })
    t.equal(opened.statusCode, 201, opened.body)
    const id = opened.json().id as number
    t.match(opened.json(), { id: Number, subject: 'Cannot sign in', status: 'open', unread: false, user_name: 'ada' })

    const thread = (await gateway.inject({ url: `/api/tickets/${id}`, headers: ada })).json()
    t.equal(thread.messages.length, 1)
    const file = thread.messages[0].attachments[0]
    t.match(file, { filename: 'screen.png', content_type: 'image/png', size: PNG.length })
    const download = await gateway.inject({ url: `/api/tickets/${id}/attachments/${file.id}`, headers: ada })
    t.equal(download.statusCode, 200)
    t.same(download.rawPayload, PNG, 'the bytes came back from the storage driver')
    t.equal(download.headers['content-type'], 'image/png')
    t.match(download.headers['content-disposition'], /attachment; filename\*=UTF-8''screen\.png/)

    const told: unknown[] = []
    gateway.events.on('tickets.answered', event => void told.push(event))
    const listed = (await gateway.inject({ url: '/api/admin/tickets?status=open', headers: admin })).json()
    t.match(listed, { items: [{ id, status: 'open' }], total: 1, page: 1, page_size: 20 })
    const answered = await gateway.inject({
      method: 'POST',
      url: `/api/admin/tickets/${id}/messages`,
      headers: admin,
      payload: { body: 'Reset your password from the login page.' },
    })
    t.match(answered.json(), { status: 'answered', unread: true })
    t.same(told, [{ ticketId: id, userId: '2' }], 'other plugins hear of the answer')
    t.same((await gateway.inject({ url: '/api/tickets/unread', headers: ada })).json(), { count: 1 }, 'ada is notified')
    const read = (await gateway.inject({ url: `/api/tickets/${id}`, headers: ada })).json()
    t.match(read.messages, [{ author: 'user' }, { author: 'admin', author_name: 'grace' }])
    t.same(
      (await gateway.inject({ url: '/api/tickets/unread', headers: ada })).json(),
      { count: 0 },
      'reading clears it',
    )
    const adminRead = await gateway.inject({ url: `/api/admin/tickets/${id}`, headers: admin })
    t.equal(adminRead.json().messages.length, 2)

    t.match((await gateway.inject({ method: 'POST', url: `/api/admin/tickets/${id}/close`, headers: admin })).json(), {
      status: 'closed',
      unread: true,
    })
    const late = await gateway.inject({
      method: 'POST',
      url: `/api/tickets/${id}/messages`,
      headers: ada,
      payload: { body: 'one more thing' },
    })
    t.equal(late.statusCode, 409)
    t.equal(late.json().error.code, 'PARLEY_ERR_TICKETS_CLOSED')
  })
}

t.test("another user's ticket is a 404 everywhere, and nothing changes", async t => {
  const gateway = await boot(t)
  const id = (
    await gateway.inject({
      method: 'POST',
      url: '/api/tickets',
      headers: ada,
      payload: { subject: 'Mine', body: 'private', attachments: [png] },
    })
  ).json().id
  const before = await snapshot(gateway)
  const attempts = [
    { method: 'GET' as const, url: `/api/tickets/${id}` },
    { method: 'POST' as const, url: `/api/tickets/${id}/messages`, payload: { body: 'hijack' } },
    { method: 'POST' as const, url: `/api/tickets/${id}/close` },
    { method: 'GET' as const, url: `/api/tickets/${id}/attachments/1` },
  ]
  for (const attempt of attempts) {
    const response = await gateway.inject({ ...attempt, headers: bob })
    t.equal(response.statusCode, 404, `${attempt.method} ${attempt.url}`)
    t.same(response.json(), {
      error: { type: 'not_found', message: 'No such ticket', code: 'PARLEY_ERR_TICKETS_NOT_FOUND' },
    })
  }
  t.same((await gateway.inject({ url: '/api/tickets', headers: bob })).json().items, [], "bob's list is empty")
  const user = await gateway.inject({ url: `/api/admin/tickets/${id}`, headers: ada })
  t.equal(user.statusCode, 403, 'the admin routes refuse users')
  t.equal((await gateway.inject({ url: '/api/tickets', headers: adaToken })).statusCode, 401, 'API tokens are refused')
  t.equal((await gateway.inject({ url: '/api/tickets' })).statusCode, 401)
  t.same(await snapshot(gateway), before)
})

t.test('limits: open tickets, tickets a day, message length, attachments; a refusal stores nothing', async t => {
  const gateway = await boot(t, 'sqlite', { max_attachment_bytes: 100, attachment_types: ['image/png'] })
  const open = (payload: object, headers: Record<string, string> = ada) =>
    gateway.inject({ method: 'POST', url: '/api/tickets', headers, payload })
  const refused = async (payload: object, status: number, code: string, headers?: Record<string, string>) => {
    const before = await snapshot(gateway)
    const response = await open(payload, headers)
    t.equal(response.statusCode, status, code)
    t.equal(response.json().error.code, code)
    t.same(await snapshot(gateway), before, `${code} changed nothing`)
    return response
  }
  const big = { ...png, data: Buffer.alloc(101).toString('base64') }
  await refused({ subject: 's', body: 'b', attachments: [big] }, 413, 'PARLEY_ERR_TICKETS_ATTACHMENT_SIZE')
  await refused(
    { subject: 's', body: 'b', attachments: [{ ...png, content_type: 'text/html' }] },
    415,
    'PARLEY_ERR_TICKETS_ATTACHMENT_TYPE',
  )
  await refused(
    { subject: 's', body: 'b', attachments: [{ ...png, data: 'not base64!' }] },
    400,
    'PARLEY_ERR_TICKETS_ATTACHMENT_DATA',
  )
  await refused(
    { subject: 's', body: 'b', attachments: [png, png, png, png] },
    400,
    'PARLEY_ERR_TICKETS_ATTACHMENT_COUNT',
  )
  await refused(
    { subject: 's', body: 'b', attachments: [{ ...png, filename: '../etc/passwd' }] },
    400,
    'PARLEY_ERR_HTTP_VALIDATION',
  )

  await gateway.settings.set('tickets.max_body', 5)
  const long = await refused({ subject: 's', body: 'too long' }, 400, 'PARLEY_ERR_TICKETS_TOO_LONG')
  t.equal(long.json().error.message, 'A message may have at most 5 characters')
  await gateway.settings.set('tickets.max_open', 1)
  t.equal((await open({ subject: 'first', body: 'b' })).statusCode, 201)
  const zh = await refused({ subject: 'second', body: 'b' }, 409, 'PARLEY_ERR_TICKETS_TOO_MANY_OPEN', {
    ...ada,
    'accept-language': 'zh-CN',
  })
  t.equal(zh.json().error.message, '您已有 1 个未关闭的工单：请等待回复或关闭其中一个')

  await gateway.settings.set('tickets.max_open', 10)
  await gateway.settings.set('tickets.per_day', 2)
  t.equal((await open({ subject: 'second', body: 'b' })).statusCode, 201)
  await refused({ subject: 'third', body: 'b' }, 429, 'PARLEY_ERR_TICKETS_RATE')
  t.equal((await open({ subject: 'bob', body: 'b' }, bob)).statusCode, 201, 'the limits are per user')
})
