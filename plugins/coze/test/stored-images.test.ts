import t, { type Test } from 'tap'
import { TOKENS, type ObjectStorage } from '@parley/core'
import { createTestGateway, fixtureAuth } from '@parley/core/testing'
import coze from '@parley/coze'
import storageLocal from '@parley/storage-local'
import { BOT, createChannel, mockCoze, pat, sdk } from './helpers.js'
import type { MockCoze } from './mock-coze.js'

// Images users attached (`parley-object://<key>`, stored by the storage driver) reach Coze as
// the channel's `image_delivery` says: inline, uploaded to Coze first (`file_id`), or as a
// presigned URL (`file_url`). The translating provider gets them already resolved.

const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001', 'hex')
const KEY = '2/c1/images/7d9e7f0a-3c4b-4d6e-8f10-1a2b3c4d5e6f.png'

async function setup(t: Test, delivery: 'inline' | 'url') {
  const key = pat()
  const upstream = await mockCoze(t, undefined, { pats: [key] })
  const gateway = await createTestGateway({ plugins: [fixtureAuth, coze, storageLocal], listen: true })
  t.teardown(gateway.close)
  await gateway.container.resolve<ObjectStorage>(TOKENS.storage).put(KEY, PNG, { contentType: 'image/png' })
  await createChannel(gateway, {
    provider: 'coze',
    name: 'coze',
    base_url: upstream.url,
    keys: [key],
    models: ['coze-bot'],
    settings: { bots: { 'coze-bot': BOT } },
    image_delivery: delivery,
  })
  upstream.reply({ text: 'A picture.' })
  return { gateway, coze: upstream, key }
}

function ask(gateway: Parameters<typeof sdk>[0]) {
  return sdk(gateway, 'token-default').chat.completions.create({
    model: 'coze-bot',
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is this?' },
          { type: 'image_url', image_url: { url: `parley-object://${KEY}` } },
        ],
      },
    ],
  })
}

function itemsSent(coze: MockCoze): unknown {
  const message = (coze.chats[0]?.body?.additional_messages as Array<{ content: string }>)[0]
  return JSON.parse(message?.content ?? '[]')
}

t.test('inline: the stored image is uploaded to Coze and sent as its file id', async t => {
  const { gateway, coze, key } = await setup(t, 'inline')
  t.equal((await ask(gateway)).choices[0]?.message.content, 'A picture.')
  t.equal(coze.uploads.length, 1)
  t.same(coze.uploads[0]?.bytes, PNG, 'the stored bytes, byte for byte')
  t.match(coze.uploads[0], { type: 'image/png', token: key })
  t.same(itemsSent(coze), [
    { type: 'text', text: 'What is this?' },
    { type: 'image', file_id: coze.uploads[0]?.id },
  ])
})

t.test('url: Coze gets a presigned URL of the stored image', async t => {
  const { gateway, coze } = await setup(t, 'url')
  await gateway.settings.set('site_base_url', gateway.url as string)
  t.equal((await ask(gateway)).choices[0]?.message.content, 'A picture.')
  t.equal(coze.uploads.length, 0, 'nothing uploaded to Coze')
  const items = itemsSent(coze) as Array<{ type: string; file_url?: string }>
  t.match(items[1]?.file_url, new RegExp(`^${gateway.url}/storage/local/${KEY}\\?expires=\\d+&sig=`))
  const fetched = await fetch(items[1]?.file_url as string)
  t.same(Buffer.from(await fetched.arrayBuffer()), PNG, 'the URL serves the image')
})

t.test("someone else's image never reaches Coze", async t => {
  const { gateway, coze } = await setup(t, 'inline')
  const error = await sdk(gateway, 'token-default')
    .chat.completions.create({
      model: 'coze-bot',
      messages: [
        { role: 'user', content: [{ type: 'image_url', image_url: { url: 'parley-object://1/c1/images/a.png' } }] },
      ],
    })
    .then(
      () => undefined,
      (error: { status?: number; message?: string }) => error,
    )
  t.equal(error?.status, 400)
  t.match(error?.message, /not one of your uploads/)
  t.equal(coze.chats.length + coze.uploads.length, 0, 'Coze got nothing')
})
