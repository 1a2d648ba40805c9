import path from 'node:path'
import t from 'tap'
import { loadConfig } from '@parley/core'
import { createTestGateway } from '@parley/core/testing'
import tickets from '../src/index.js'
import { png } from './helpers.js'

// The plugin as an operator adds it: every plugin of config/default.yaml (the real identity,
// storage, portal and console) plus tickets. A user signs up and opens a ticket with a file, the
// root admin signs in to the console and answers it.
const shipped = loadConfig({ file: path.resolve(import.meta.dirname, '../../../config/default.yaml'), env: {} })
const ADMIN = { username: 'root', password: 'a-long-root-password' }

t.test("config/default.yaml's plugins plus tickets: it starts, and a ticket goes round", async t => {
  const gateway = await createTestGateway({
    plugins: [tickets],
    config: { plugins: shipped.plugins, admin: ADMIN },
  })
  t.teardown(gateway.close)
  t.ok(
    gateway.plugins.some(plugin => plugin.definition.id === 'identity'),
    'the shipped plugins are loaded',
  )

  const password = 'correct-horse-battery'
  const signedUp = await gateway.inject({
    method: 'POST',
    url: '/api/auth/register',
    payload: { email: 'ada@example.com', username: 'ada', password, password_confirm: password },
  })
  t.equal(signedUp.statusCode, 201, 'ada signs up with the identity plugin')
  const user = { authorization: `Bearer ${signedUp.json().access_token}` }
  const opened = await gateway.inject({
    method: 'POST',
    url: '/api/tickets',
    headers: user,
    payload: { subject: 'Hello', body: 'A question', attachments: [png] },
  })
  t.equal(opened.statusCode, 201, 'a ticket with a file, stored by storage-local')

  const console = await gateway.inject({ method: 'POST', url: '/api/auth/admin/login', payload: ADMIN })
  t.equal(console.statusCode, 200, 'root signs in to the console')
  const admin = { authorization: `Bearer ${console.json().access_token}` }
  const answered = await gateway.inject({
    method: 'POST',
    url: `/api/admin/tickets/${opened.json().id}/messages`,
    headers: admin,
    payload: { body: 'An answer' },
  })
  t.equal(answered.statusCode, 201, 'root answers')
  t.same((await gateway.inject({ url: '/api/tickets/unread', headers: user })).json(), { count: 1 })

  const page = await gateway.inject({ url: '/tickets', headers: { accept: 'text/html' } })
  t.equal(page.statusCode, 200)
  t.match(page.body, /data-tickets="portal"/)
  const section = await gateway.inject({ url: '/admin/tickets', headers: { ...admin, accept: 'text/html' } })
  t.equal(section.statusCode, 200)
  t.match(section.body, /class="admin-nav"/, "the console's own menu, from @parley/admin")
  t.match(section.body, /href="\/admin\/tickets" aria-current="page"/, 'with the tickets section in it')
})
