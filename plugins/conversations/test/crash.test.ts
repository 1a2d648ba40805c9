import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { createTestGateway, fixtureAuth, until } from '@parley/core/testing'
import conversations from '../src/index.js'
import { ADA, json, messagesOf } from './helpers.js'

const fixture = fileURLToPath(new URL('./fixtures/crash-gateway.ts', import.meta.url))

/**
 * A gateway process killed with SIGKILL in the middle of an answer leaves it `in_progress`; the
 * next gateway on the same database fails it at start (its runner has no heartbeat), so no
 * message stays `in_progress`.
 */
t.test('an answer a killed gateway left in progress ends failed after the sweep', async t => {
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-crash-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const database = path.join(dir, 'parley.db')
  const child = spawn(process.execPath, [...process.execArgv, fixture, database, dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
    // Type-checking all of core again in the child would take most of the test's time.
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' },
  })
  t.teardown(() => void child.kill('SIGKILL'))
  const [line] = (await once(child.stdout, 'data')) as [Buffer]
  const url = line.toString().trim()
  const admin = await fetch(`${url}/api/admin/channels`, {
    method: 'POST',
    headers: { authorization: 'Bearer root', 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'slow',
      provider: 'scripted',
      base_url: 'https://1.1.1.1/v1',
      keys: ['sk-slow-0000000000000000'],
      models: ['bot'],
    }),
  })
  t.equal(admin.status, 201)
  const created = await fetch(`${url}/api/conversations`, {
    method: 'POST',
    headers: { ...ADA, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'bot' }),
  })
  const { id } = (await created.json()) as { id: number }
  let response: Response | undefined
  await until(async () => {
    response = await fetch(`${url}/api/conversations/${id}/messages`, {
      method: 'POST',
      headers: { ...ADA, 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'Count slowly' }),
    })
    if (response.status === 200) return true
    await response.text()
    return false
  }, 'the catalog of the child has the channel')
  const reader = response!.body!.getReader()
  await reader.read()
  await reader.read()
  child.kill('SIGKILL')
  await once(child, 'exit')

  const next = await createTestGateway({
    plugins: [fixtureAuth, conversations],
    config: { database: { path: database } },
  })
  t.teardown(next.close)
  await until(async () => (await messagesOf(next, id)).length === 2, 'messages readable')
  const messages = await messagesOf(next, id)
  t.match(messages, [
    { role: 'user', content: 'Count slowly', status: 'completed' },
    { role: 'assistant', status: 'failed', error_type: 'interrupted' },
  ])
  const left = await next.db
    .em()
    .getConnection()
    .execute("select count(*) as n from conversations_messages where status = 'in_progress'")
  t.equal(Number((left as Array<{ n: number }>)[0]?.n), 0, 'nothing left in progress')
  t.equal((await json(next, 'GET', `/api/conversations/${id}`)).status, 200)
})

t.test(
  'the sweep job fails answers of runners with no heartbeat and answers older than stale_after_seconds',
  async t => {
    const gateway = await createTestGateway({
      plugins: [fixtureAuth, { plugin: conversations, options: { stale_after_seconds: 60 } }],
    })
    t.teardown(gateway.close)
    const created = await json<{ id: number }>(gateway, 'POST', '/api/conversations', { model: 'bot' })
    const connection = gateway.db.em().getConnection()
    const now = new Date()
    const old = new Date(now.getTime() - 120_000)
    await connection.execute(
      "insert into conversations_messages (conversation_id, role, content, status, runner, created_at) values (?, 'assistant', '\"\"', 'in_progress', ?, ?), (?, 'assistant', '\"\"', 'in_progress', ?, ?)",
      [created.body.id, 'gone-runner', now, created.body.id, 'x', old],
    )
    await gateway.jobs.enqueue('conversations.sweep', {})
    await until(
      async () => (await messagesOf(gateway, created.body.id)).every(message => message.status === 'failed'),
      'swept',
    )
    t.match(await messagesOf(gateway, created.body.id), [
      { status: 'failed', error_type: 'interrupted' },
      { status: 'failed', error_type: 'interrupted' },
    ])
  },
)
