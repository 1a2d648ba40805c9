/**
 * With the real conversations plugin: a stored conversation's images must be the caller's, and
 * deleting a conversation (its `conversation.deleted` event) deletes its images.
 */
import t from 'tap'
import conversations from '@parley/conversations'
import { until } from '@parley/core/testing'
import { as, boot, presign, storedPng, uploadRows } from './helpers.js'

t.test("a conversation's images: the owner's only, and gone with the conversation", async t => {
  const booted = await boot(t, { plugins: [conversations] })
  const created = await booted.gateway.inject({
    method: 'POST',
    url: '/api/conversations',
    headers: as('ada'),
    payload: { title: 'Pictures', model: 'gpt-4o' },
  })
  t.equal(created.statusCode, 201, created.body)
  const id = String((created.json() as { id: number }).id)
  const file = { extension: 'png', content_type: 'image/png', size: 68 }
  t.equal((await presign(booted.gateway, 'root', { conversation_id: id, files: [file] })).status, 404, "root's: 404")
  const key = await storedPng(booted, 'ada', id)
  const kept = await storedPng(booted, 'ada', 'b-elsewhere')
  const deleted = await booted.gateway.inject({
    method: 'POST',
    url: '/api/conversations/delete',
    headers: as('ada'),
    payload: { ids: [Number(id)] },
  })
  t.equal(deleted.statusCode, 200, deleted.body)
  await until(async () => (await uploadRows(booted.gateway)).length === 1, 'the conversation image removed')
  t.equal(await booted.storage.head(key), undefined, 'the object too')
  t.ok(await booted.storage.head(kept), 'other images stay')
})
