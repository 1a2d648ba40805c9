import t from 'tap'
import {
  objectKeysIn,
  objectOwner,
  ObjectRefs,
  ownsObjectKey,
  replaceObjectRefs,
  type ObjectStorage,
  type Principal,
} from '@parley/core'

/** `parley-object://` references (pipeline/object-refs.ts): owners, the scan, the read-back rewrite. */

const SECRET = 'k'.repeat(64)
const ada: Principal = { kind: 'user', userId: '42', role: 'user', group: 'default', name: 'ada' }
const token: Principal = { kind: 'api_token', tokenId: '7', userId: '42', role: 'user', group: 'default', name: 'ada' }
const guest = (ip: string): Principal => ({ kind: 'guest', ip, group: 'default' })
const widget = (externalId: string): Principal => ({
  kind: 'widget_user',
  clientId: 'wc_shop',
  externalId,
  group: 'default',
})

t.test('owners: a user by id, guests and widget users by an HMAC that hides who they are', async t => {
  t.equal(objectOwner(ada, SECRET), '42')
  t.equal(objectOwner(token, SECRET), '42', "an API token owns its user's images")
  const g = objectOwner(guest('203.0.113.9'), SECRET)
  t.match(g, /^guest-[0-9a-f]{16}$/)
  t.equal(objectOwner(guest('203.0.113.9'), SECRET), g, 'stable for one address')
  t.not(objectOwner(guest('203.0.113.10'), SECRET), g, 'another address, another owner')
  t.not(objectOwner(guest('203.0.113.9'), 'other-secret'), g, 'keyed by the server secret')
  const w = objectOwner(widget('+8613800000000'), SECRET)
  t.match(w, /^widget-wc_shop-[0-9a-f]{16}$/)
  t.notMatch(w, /8613800000000/, 'no phone number in a key')
  t.ok(ownsObjectKey('42', '42/c1/images/a.png'))
  t.notOk(ownsObjectKey('4', '42/c1/images/a.png'), 'a prefix of another id is not an owner')
  t.notOk(ownsObjectKey('42', '42/../1/c1/images/a.png'), 'no climbing out')
})

t.test('the scan: keys of image_url parts only; nothing allocated for a call without one', async t => {
  const none = objectKeysIn([])
  t.equal(objectKeysIn([{ role: 'user', content: 'hello' }]), none, 'text only: the shared empty list')
  t.equal(
    objectKeysIn([{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/a.png' } }] }]),
    none,
    'a plain URL is no reference',
  )
  t.same(
    objectKeysIn([
      { role: 'user', content: [{ type: 'image_url', image_url: { url: 'parley-object://42/c/images/a.png' } }] },
      { role: 'assistant', content: 'ok' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'parley-object://not/a/part.png' },
          { type: 'image_url', image_url: { url: 'parley-object://42/c/images/a.png' } },
          { type: 'image_url', image_url: { url: 'parley-object://42/c/images/b.png' } },
        ],
      },
    ]),
    ['42/c/images/a.png', '42/c/images/b.png'],
    'each key once',
  )
  const content = [
    { type: 'text', text: 'hi' },
    { type: 'image_url', image_url: { url: 'parley-object://42/c/images/a.png', detail: 'low' } },
  ]
  t.same(
    replaceObjectRefs(content, key => `https://cdn/${key}`),
    [
      { type: 'text', text: 'hi' },
      { type: 'image_url', image_url: { url: 'https://cdn/42/c/images/a.png', detail: 'low' } },
    ],
  )
  const plain = [{ type: 'text', text: 'hi' }]
  t.equal(
    replaceObjectRefs(plain, () => 'x'),
    plain,
    'no reference: the same array',
  )
})

t.test('forClient: presigned GETs of the caller own keys; another owner key is a 404', async t => {
  const signed: string[] = []
  const storage = {
    presignGet: async (key: string) => {
      signed.push(key)
      return { url: `https://bucket/${key}?sig=1`, expiresAt: new Date() }
    },
  } as unknown as ObjectStorage
  const refs = new ObjectRefs(storage, SECRET)
  const mine = [{ type: 'image_url', image_url: { url: 'parley-object://42/c/images/a.png' } }]
  t.same(await refs.forClient(mine, ada), [
    { type: 'image_url', image_url: { url: 'https://bucket/42/c/images/a.png?sig=1' } },
  ])
  t.equal(await refs.forClient('just text', ada), 'just text')
  await t.rejects(
    refs.forClient([{ type: 'image_url', image_url: { url: 'parley-object://1/c/images/a.png' } }], ada),
    { code: 'PARLEY_ERR_OBJECT_NOT_FOUND', statusCode: 404 },
  )
  t.same(signed, ['42/c/images/a.png'], "another's key is never signed")
})
