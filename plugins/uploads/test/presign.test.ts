/**
 * The upload API on SQLite and MariaDB: presigned URLs straight to the storage (here the local
 * driver, through real HTTP), every refusal with its catalogue error and nothing stored, the
 * quota, guests, the read-back URLs and their owner check.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { definePlugin } from '@parley/core'
import { missingService, pendingSchemaChanges, testServices } from '@parley/core/testing'
import { as, boot, png, presign, storedPng, upload, uploadRows, type Booted } from './helpers.js'

const ONE_PNG = { extension: 'png', content_type: 'image/png', size: 68 }

/** Every refusal leaves no row and no object. */
async function nothingStored(t: Test, booted: Booted): Promise<void> {
  t.same(await uploadRows(booted.gateway), [], 'no upload row')
}

function suite(name: string, mysqlUrl: string | undefined) {
  t.test(name, async t => {
    const opened = (t: Test, options: Parameters<typeof boot>[1] = {}) =>
      boot(t, { ...options, ...(mysqlUrl ? { mysqlUrl } : {}) })

    t.test('the migrations make exactly the entities', async t => {
      const booted = await opened(t)
      t.same(await pendingSchemaChanges(booted.gateway), [])
    })

    t.test('a PNG goes straight to its URL, is stored and can be viewed by its owner', async t => {
      const booted = await opened(t)
      const answer = await presign(booted.gateway, 'ada', { conversation_id: 'c1', files: [ONE_PNG] })
      t.equal(answer.status, 200)
      const item = answer.body.items?.[0]
      if (!item) return t.fail('an item')
      t.match(item, {
        key: /^2\/c1\/images\/[0-9a-f-]{36}\.png$/,
        url: /^\/storage\/local\/2\/c1\/images\//,
        method: 'PUT',
        headers: { 'content-type': 'image/png' },
        expires_at: /^\d{4}-\d\d-\d\dT/,
      })
      t.equal(Object.keys(answer.body).join(), 'items', 'the answer is {items} (Appendix A)')
      const sent = await upload(booted.base, item, png())
      t.ok(sent.ok, `upload answered ${sent.status}`)
      t.match(await booted.storage.head(item.key), { contentType: 'image/png', size: 68 })
      t.match(await uploadRows(booted.gateway), [{ key: item.key, owner: '2', attached_at: null }])

      const view = await booted.gateway.inject({
        method: 'POST',
        url: '/api/uploads/view',
        headers: as('ada'),
        payload: { keys: [item.key] },
      })
      t.equal(view.statusCode, 200)
      const url = (view.json() as { items: Array<{ key: string; url: string }> }).items[0]?.url as string
      const got = await fetch(new URL(url, booted.base))
      t.equal(got.status, 200)
      t.same(Buffer.from(await got.arrayBuffer()), png(), 'the same bytes come back')

      const other = await booted.gateway.inject({
        method: 'POST',
        url: '/api/uploads/view',
        headers: as('root'),
        payload: { keys: [item.key] },
      })
      t.equal(other.statusCode, 404, "another user's key is not found")
      t.equal(other.json().error.type, 'not_found')
      t.notMatch(other.body, /storage\/local/, 'and no URL')
    })

    t.test('refusals: each with its error, nothing signed or stored', async t => {
      const booted = await opened(t, { uploadOptions: { max_file_bytes: 2048, max_files: 2 } })
      const cases: Array<[string, unknown, number, string]> = [
        [
          'svg',
          { conversation_id: 'c1', files: [{ extension: 'svg', content_type: 'image/svg+xml', size: 9 }] },
          400,
          'upload_type_refused',
        ],
        [
          'type and extension disagree',
          { conversation_id: 'c1', files: [{ ...ONE_PNG, content_type: 'image/jpeg' }] },
          400,
          'upload_type_refused',
        ],
        ['too large', { conversation_id: 'c1', files: [{ ...ONE_PNG, size: 2049 }] }, 413, 'upload_too_large'],
        ['empty', { conversation_id: 'c1', files: [{ ...ONE_PNG, size: 0 }] }, 400, 'upload_empty'],
        ['too many', { conversation_id: 'c1', files: [ONE_PNG, ONE_PNG, ONE_PNG] }, 400, 'upload_too_many_files'],
        ['a bad conversation id', { conversation_id: '../x', files: [ONE_PNG] }, 400, 'invalid_request'],
        ['no files', { conversation_id: 'c1', files: [] }, 400, 'invalid_request'],
        [
          'an unknown field',
          { conversation_id: 'c1', files: [{ ...ONE_PNG, key: 'root/x.png' }] },
          400,
          'invalid_request',
        ],
      ]
      for (const [what, body, status, type] of cases) {
        const answer = await presign(booted.gateway, 'ada', body)
        t.equal(answer.status, status, `${what}: ${status}`)
        t.equal(answer.body.error?.type, type, `${what}: ${type}`)
        t.notMatch(JSON.stringify(answer.body), /at .*\.ts:\d+/, `${what}: no stack`)
      }
      const zh = await booted.gateway.inject({
        method: 'POST',
        url: '/api/uploads/presign',
        headers: { ...as('ada'), 'accept-language': 'zh-CN' },
        payload: { conversation_id: 'c1', files: [{ ...ONE_PNG, size: 4096 }] },
      })
      t.match(zh.json().error.message, /超过了每个文件 2048 字节的上限/, 'the message in Chinese')
      const anonymous = await presign(booted.gateway, 'anonymous', { conversation_id: 'c1', files: [ONE_PNG] })
      t.equal(anonymous.status, 401, 'anonymous: 401')
      await nothingStored(t, booted)
    })

    t.test('the quota counts every URL handed out, per owner', async t => {
      const booted = await opened(t, { uploadOptions: { quota_bytes: 200 } })
      await storedPng(booted, 'ada', 'c1', 120)
      const over = await presign(booted.gateway, 'ada', { conversation_id: 'c2', files: [{ ...ONE_PNG, size: 81 }] })
      t.equal(over.status, 413)
      t.equal(over.body.error?.type, 'upload_quota_exceeded')
      t.match(over.body.error?.message, /201 bytes; your quota is 200 bytes \(in use: 120\)/)
      t.equal(
        (await presign(booted.gateway, 'ada', { conversation_id: 'c2', files: [{ ...ONE_PNG, size: 80 }] })).status,
        200,
        'up to the quota',
      )
      t.equal(
        (await presign(booted.gateway, 'root', { conversation_id: 'c2', files: [{ ...ONE_PNG, size: 200 }] })).status,
        200,
        "another user's quota is their own",
      )
      t.equal((await uploadRows(booted.gateway)).length, 3, 'the refused one left no row')
    })

    t.test('guests: refused unless the setting allows them, then under their own segment', async t => {
      const booted = await opened(t)
      const refused = await presign(booted.gateway, 'guest', { conversation_id: 'c1', files: [ONE_PNG] })
      t.equal(refused.status, 403)
      t.equal(refused.body.error?.type, 'upload_guest_forbidden')
      await nothingStored(t, booted)
      await booted.gateway.settings.set('uploads.guests', true)
      const key = await storedPng(booted, 'guest')
      t.match(key, /^guest-[0-9a-f]{16}\/c1\/images\//, 'a guest owns an HMAC of its address, not the address')
      t.notMatch(key, /127\.0\.0\.1/)
    })

    t.test('a presigned URL refuses a tampered signature, another size, another type and expiry', async t => {
      const booted = await opened(t)
      const answer = await presign(booted.gateway, 'ada', { conversation_id: 'c1', files: [ONE_PNG] })
      const item = answer.body.items?.[0]
      if (!item) return t.fail('an item')
      const tampered = { ...item, url: item.url.replace(/sig=./, match => (match.endsWith('A') ? 'sig=B' : 'sig=A')) }
      const forged = await upload(booted.base, tampered, png())
      t.equal(forged.status, 403, 'a tampered signature: 403')
      t.match((await forged.json()) as object, { error: { type: String, message: String } }, 'a clear error')
      const otherKey = { ...item, url: item.url.replace('/2/c1/', '/1/c1/') }
      t.equal((await upload(booted.base, otherKey, png())).status, 403, 'the URL moved to another key: 403')
      t.ok((await upload(booted.base, item, png(69))).status >= 400, 'another size is refused')
      const wrongType = await fetch(new URL(item.url, booted.base), {
        method: 'PUT',
        headers: { 'content-type': 'image/gif' },
        body: png(),
      })
      t.ok(wrongType.status >= 400, 'another type is refused')
      t.equal(await booted.storage.head(item.key), undefined, 'nothing stored')

      const short = await booted.storage.presignPut('2/c1/images/short.png', {
        contentType: 'image/png',
        contentLength: 68,
        expiresInSeconds: 1,
      })
      await sleep(2100)
      const late = await fetch(new URL(short.url, booted.base), { method: 'PUT', headers: short.headers, body: png() })
      t.equal(late.status, 403, 'an expired URL: 403')
      t.equal(await booted.storage.head('2/c1/images/short.png'), undefined, 'nothing stored')
    })

    t.test("with the conversations plugin, a stored conversation must be the caller's", async t => {
      const conversations = definePlugin({
        id: 'conversations',
        version: '0.1.0',
        setup(ctx) {
          ctx.provide(Symbol.for('parley.conversations'), {
            find: async (owner: { kind: string; id: string }, id: number) =>
              owner.kind === 'user' && owner.id === '2' && id === 41 ? { id } : undefined,
          })
        },
      })
      const booted = await opened(t, { plugins: [conversations] })
      t.equal(
        (await presign(booted.gateway, 'ada', { conversation_id: '41', files: [ONE_PNG] })).status,
        200,
        'her own',
      )
      const other = await presign(booted.gateway, 'root', { conversation_id: '41', files: [ONE_PNG] })
      t.equal(other.status, 404, "another's conversation: 404")
      t.equal(other.body.error?.type, 'not_found')
      t.equal(
        (await presign(booted.gateway, 'ada', { conversation_id: '42', files: [ONE_PNG] })).status,
        404,
        'none: 404',
      )
      t.equal(
        (await presign(booted.gateway, 'ada', { conversation_id: 'b-local7', files: [ONE_PNG] })).status,
        200,
        "a browser's own namespace",
      )
      t.equal((await uploadRows(booted.gateway)).length, 2)
    })
  })
}

suite('sqlite', undefined)
if (testServices.mysqlUrl) suite('mariadb', testServices.mysqlUrl)
else t.test('mariadb', { skip: missingService('mysql') }, async () => {})
