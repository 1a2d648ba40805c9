/**
 * Uploads on the S3 driver against a real S3 API (s3rver, which checks SigV4): the presigned
 * PUT goes to the bucket, another size or a tampered signature is refused by the bucket and
 * nothing is stored; the data plane sends the bucket's presigned URL (absolute, so `auto`
 * chooses it) or the bytes inline; the orphan sweep deletes from the bucket.
 */
import t from 'tap'
import { CONTENT_SECURITY_POLICY } from '@parley/core'
import openai from '@parley/openai'
import storageS3 from '@parley/storage-s3'
import { createChannel, sdk, startMockUpstream, until } from '@parley/core/testing'
import { SWEEP_JOB, Upload } from '@parley/uploads'
import { boot, png, presign, upload, uploadRows, type Booted } from './helpers.js'
import { startS3rver, type S3rver } from './s3rver.js'

let s3: S3rver
t.before(async () => {
  s3 = await startS3rver()
})
t.teardown(() => s3.close())

function bootS3(t: Parameters<typeof boot>[0]): Promise<Booted> {
  return boot(t, {
    plugins: [openai],
    storage: {
      plugin: storageS3,
      options: {
        endpoint: s3.endpoint,
        bucket: s3.bucket,
        force_path_style: true,
        access_key_id: 'S3RVER',
        secret_access_key: 'S3RVER',
        key_prefix: `t${Date.now()}/`,
      },
    },
  })
}

const ONE_PNG = { extension: 'png', content_type: 'image/png', size: 68 }

t.test('the browser uploads to the bucket; the bucket refuses another size and a forged URL', async t => {
  const booted = await bootS3(t)
  const answer = await presign(booted.gateway, 'ada', { conversation_id: 'c1', files: [ONE_PNG] })
  t.equal(answer.status, 200)
  const item = answer.body.items?.[0]
  if (!item) return t.fail('an item')
  t.match(item.url, new RegExp(`^${s3.endpoint}/${s3.bucket}/t\\d+/2/c1/images/.+X-Amz-Signature=`), 'a bucket URL')
  t.equal((await upload(booted.base, item, png(69))).status, 403, 'another size: the signature fails')
  const forged = {
    ...item,
    url: item.url.replace(/X-Amz-Signature=./, m => (m.endsWith('0') ? `${m.slice(0, -1)}1` : `${m.slice(0, -1)}0`)),
  }
  t.equal((await upload(booted.base, forged, png())).status, 403, 'a tampered signature')
  t.equal(await booted.storage.head(item.key), undefined, 'nothing stored')
  t.ok((await upload(booted.base, item, png())).ok, 'the announced file is taken')
  t.match(await booted.storage.head(item.key), { size: 68, contentType: 'image/png' })
})

t.test('the data plane sends a bucket URL (auto) or the bytes (inline)', async t => {
  const booted = await bootS3(t)
  const upstream = await startMockUpstream()
  t.teardown(upstream.close)
  await createChannel(booted.gateway, { name: 'auto', base_url: upstream.url, keys: ['k'], models: ['gpt-4o'] })
  await createChannel(booted.gateway, {
    name: 'inline',
    base_url: upstream.url,
    keys: ['k'],
    models: ['inline-model'],
    image_delivery: 'inline',
  })
  const answer = await presign(booted.gateway, 'ada', { conversation_id: 'c1', files: [ONE_PNG] })
  const item = answer.body.items?.[0]
  if (!item) return t.fail('an item')
  t.ok((await upload(booted.base, item, png())).ok)
  const client = sdk(booted.gateway, 'token-default')
  for (const model of ['gpt-4o', 'inline-model'])
    await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `parley-object://${item.key}` } }] }],
    })
  const [url, inline] = upstream.requests.map(request => request.images[0] ?? '')
  t.match(url, new RegExp(`^${s3.endpoint}/${s3.bucket}/.+X-Amz-Signature=`), 'auto: the bucket URL')
  t.same(Buffer.from(await (await fetch(url as string)).arrayBuffer()), png(), 'which the upstream can fetch')
  t.equal(inline, `data:image/png;base64,${png().toString('base64')}`, 'inline: the bytes from the bucket')
})

t.test('the orphan sweep deletes from the bucket', async t => {
  const booted = await bootS3(t)
  const answer = await presign(booted.gateway, 'ada', { conversation_id: 'c1', files: [ONE_PNG, ONE_PNG] })
  const [old, recent] = answer.body.items ?? []
  if (!old || !recent) return t.fail('two items')
  for (const item of [old, recent]) t.ok((await upload(booted.base, item, png())).ok)
  await booted.gateway.db
    .em()
    .nativeUpdate(Upload, { key: old.key }, { createdAt: new Date(Date.now() - 48 * 3_600_000) })
  await booted.gateway.jobs.enqueue(SWEEP_JOB, {})
  await until(async () => (await uploadRows(booted.gateway)).length === 1, 'one row swept')
  t.equal(await booted.storage.head(old.key), undefined, 'the old one is gone from the bucket')
  t.ok(await booted.storage.head(recent.key), 'the recent one stays')
})

t.test("pages allow the bucket's origin for uploads and images (their CSP), and nothing else", async t => {
  const booted = await bootS3(t)
  const page = await booted.gateway.inject({ method: 'GET', url: '/no-such-page', headers: { accept: 'text/html' } })
  const policy = String(page.headers['content-security-policy'])
  t.match(policy, `img-src 'self' ${s3.endpoint} data: blob:`)
  t.match(policy, `connect-src 'self' ${s3.endpoint};`)
  t.match(policy, "script-src 'self';", 'scripts stay on the site')
  const local = await boot(t)
  const plain = await local.gateway.inject({ method: 'GET', url: '/no-such-page', headers: { accept: 'text/html' } })
  t.equal(plain.headers['content-security-policy'], CONTENT_SECURITY_POLICY, 'storage-local: the site alone')
})
