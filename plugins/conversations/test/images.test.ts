import t from 'tap'
import storageLocal from '@parley/storage-local'
import { ADA, boot, json, newConversation, serviceConsumer } from './helpers.js'

/**
 * Stored images: a message keeps `parley-object://<key>`; its owner reads it back as a
 * short-lived URL (or the reference, with `images=refs`); a question naming another owner's key
 * is refused and nothing is stored.
 */
t.test('image references are stored, read back as short-lived URLs, and only the owner’s', async t => {
  const { plugin: grab, found } = serviceConsumer()
  const { gateway } = await boot(t, { plugins: [storageLocal, grab] })
  const id = await newConversation(gateway)
  const reference = 'parley-object://2/c1/images/0b8e4a52-6a0c-4d8e-9d7e-2f1f6c1f7a10.png'
  const parts = [
    { type: 'text', text: 'What is in this picture?' },
    { type: 'image_url', image_url: { url: reference } },
  ] as const
  await found.service!.addMessage({ kind: 'user', id: '2' }, id, { role: 'user', content: parts })

  const read = await json<{ items: Array<{ content: Array<{ type: string; image_url?: { url: string } }> }> }>(
    gateway,
    'GET',
    `/api/conversations/${id}/messages`,
  )
  const url = read.body.items[0]?.content[1]?.image_url?.url ?? ''
  t.match(
    url,
    /\/2\/c1\/images\/0b8e4a52-6a0c-4d8e-9d7e-2f1f6c1f7a10\.png\?expires=\d+&sig=/,
    'a signed URL for the reader',
  )
  t.equal(read.body.items[0]?.content[0]?.type, 'text')
  const refs = await json<{ items: Array<{ content: unknown }> }>(
    gateway,
    'GET',
    `/api/conversations/${id}/messages?images=refs`,
  )
  t.same(refs.body.items[0]?.content, parts, 'images=refs: the stored reference')
  const stored = (await gateway.db
    .em()
    .getConnection()
    .execute('select content from conversations_messages where conversation_id = ?', [id])) as Array<{
    content: string
  }>
  t.match(stored[0]?.content, reference, 'the database keeps the reference, never a URL')
  t.notMatch(stored[0]?.content, /sig=|expires=/)

  const foreign = await json(gateway, 'POST', `/api/conversations/${id}/messages`, {
    content: [{ type: 'image_url', image_url: { url: 'parley-object://1/c9/images/secret.png' } }],
  })
  t.match(foreign, { status: 404, body: { error: { type: 'not_found' } } }, "another owner's key is refused")
  t.equal(
    (await json<{ total: number }>(gateway, 'GET', `/api/conversations/${id}/messages`, undefined, ADA)).body.total,
    1,
  )
})
