/**
 * The S3 driver against a real S3-compatible server (s3rver in a child process, signatures
 * checked): the shared storage contract, then the driver's own options (public endpoint, key
 * prefix, the COS preset, credentials) and how it reports a bucket it cannot use.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { TOKENS, type ActiveStorage, type ParleyError } from '@parley/core'
import { createTestGateway, storageContract } from '@parley/core/testing'
import storageS3, { driverOptions, S3Storage, type S3StorageOptions } from '../src/index.js'
import { S3RVER_CREDENTIALS, startS3Server, type S3TestServer } from './s3-server.js'

let server: S3TestServer
t.before(async () => {
  server = await startS3Server()
})
t.teardown(() => server?.close())

function driver(options: Partial<S3StorageOptions> = {}): S3Storage {
  const storage = new S3Storage({
    endpoint: server.endpoint,
    region: 'us-east-1',
    bucket: server.bucket,
    credentials: S3RVER_CREDENTIALS,
    forcePathStyle: true,
    keyPrefix: '',
    ...options,
  })
  t.teardown(() => storage.close())
  return storage
}

t.test('storage contract: S3 driver against s3rver', t =>
  storageContract(t, {
    signatureParam: 'X-Amz-Signature',
    secrets: [S3RVER_CREDENTIALS.secretAccessKey],
    open: async () => ({ storage: driver({ keyPrefix: 'contract/' }) }),
  }),
)

t.test('presigned uploads sign Content-Length and Content-Type, and carry no checksum', async t => {
  const storage = driver()
  const upload = await storage.presignPut('u/1/a.png', {
    contentType: 'image/png',
    contentLength: 1234,
    expiresInSeconds: 300,
  })
  const url = new URL(upload.url)
  t.equal(url.origin, server.endpoint)
  t.equal(url.pathname, `/${server.bucket}/u/1/a.png`, 'path style as configured')
  t.equal(url.searchParams.get('X-Amz-SignedHeaders'), 'content-length;content-type;host')
  t.equal(url.searchParams.get('X-Amz-Expires'), '300')
  const signedAt = new Date(upload.expiresAt.getTime() - 300_000).toISOString().replace(/[-:]|\.\d{3}/g, '')
  t.equal(url.searchParams.get('X-Amz-Date'), signedAt, 'expiresAt is the signing time plus X-Amz-Expires')
  t.equal(upload.expiresAt.getTime() % 1000, 0, 'whole seconds, as SigV4 dates are')
  t.notOk(
    [...url.searchParams.keys()].some(name => /checksum/i.test(name)),
    'no checksum of an empty body is signed in',
  )
  t.notMatch(upload.url, /S3RVER(?!%2F)/, 'the secret is not in the URL (only the key id in the credential scope)')
})

t.test('key_prefix: objects live under it, keys given without it', async t => {
  const plain = driver()
  const prefixed = driver({ keyPrefix: 'tenant-a/' })
  await prefixed.put('notes/x.txt', Buffer.from('hi'), { contentType: 'text/plain' })
  t.same(await plain.head('tenant-a/notes/x.txt'), { contentType: 'text/plain', size: 2 }, 'stored under the prefix')
  t.same(await prefixed.head('notes/x.txt'), { contentType: 'text/plain', size: 2 })
  const view = await prefixed.presignGet('notes/x.txt', { expiresInSeconds: 60 })
  t.match(new URL(view.url).pathname, `/${server.bucket}/tenant-a/notes/x.txt`)
  const response = await fetch(view.url)
  t.equal(await response.text(), 'hi')
  t.equal(response.headers.get('cache-control'), 'private', 'downloads are marked private')
  t.match(prefixed.describe(), /keys under tenant-a\//)
})

t.test('public_endpoint: URLs are signed for the address browsers use', async t => {
  const storage = driver({ publicEndpoint: `http://localhost:${server.port}` })
  const body = randomBytes(64)
  const upload = await storage.presignPut('public/a.bin', {
    contentType: 'application/octet-stream',
    contentLength: body.length,
    expiresInSeconds: 60,
  })
  t.equal(new URL(upload.url).host, `localhost:${server.port}`)
  const sent = await fetch(upload.url, { method: 'PUT', headers: upload.headers, body })
  t.equal(sent.status, 200, 'the signature holds for the public host')
  await sent.arrayBuffer()
  const view = await storage.presignGet('public/a.bin', { expiresInSeconds: 60 })
  t.equal(new URL(view.url).host, `localhost:${server.port}`)
  t.ok(Buffer.from(await (await fetch(view.url)).arrayBuffer()).equals(body))
  t.match(storage.describe(), `(browsers: http://localhost:${server.port})`)
  // The gateway itself still talks to `endpoint`: head goes there.
  t.same(await storage.head('public/a.bin'), { contentType: 'application/octet-stream', size: 64 })
})

t.test('a bucket it cannot use: each failure says why, never the secret', async t => {
  const wrongSecret = 'wrong-secret-0123456789'
  const refused = driver({ credentials: { accessKeyId: 'S3RVER', secretAccessKey: wrongSecret } })
  const denied = (await refused.ping().catch((error: unknown) => error)) as ParleyError
  t.equal(denied.code, 'PARLEY_ERR_STORAGE_FAILED')
  t.match(
    denied.message,
    /writing an object in bucket parley-test at http:\/\/127\.0\.0\.1:\d+: SignatureDoesNotMatch \(HTTP 403\): the secret access key does not match/,
  )
  t.notMatch(denied.message, wrongSecret)

  const unknownKey = driver({ credentials: { accessKeyId: 'NOBODY', secretAccessKey: wrongSecret } })
  t.match(
    ((await unknownKey.ping().catch((error: unknown) => error)) as Error).message,
    /InvalidAccessKeyId \(HTTP 403\): the access key id is unknown/,
  )

  const noBucket = driver({ bucket: 'no-such-bucket' })
  t.match(
    ((await noBucket.ping().catch((error: unknown) => error)) as Error).message,
    /NoSuchBucket \(HTTP 404\): the bucket does not exist/,
  )
  await t.rejects(
    noBucket.get('a.txt'),
    { code: 'PARLEY_ERR_STORAGE_FAILED' },
    'a missing bucket is not a missing object',
  )

  const down = driver({ endpoint: 'http://127.0.0.1:9' })
  const unreachable = (await down.ping().catch((error: unknown) => error)) as Error
  t.match(unreachable.message, /ECONNREFUSED/)
})

t.test('the cos preset: endpoint from the region, virtual-hosted bucket name-appid', async t => {
  const options = driverOptions(
    {
      preset: 'cos',
      region: 'ap-guangzhou',
      bucket: 'uploads-1250000000',
      access_key_id: 'AKIDexample',
      secret_access_key: 'cos-secret',
      force_path_style: true,
      key_prefix: 'parley/',
    },
    {},
  )
  t.same(options, {
    endpoint: 'https://cos.ap-guangzhou.myqcloud.com',
    region: 'ap-guangzhou',
    bucket: 'uploads-1250000000',
    credentials: { accessKeyId: 'AKIDexample', secretAccessKey: 'cos-secret' },
    forcePathStyle: false,
    keyPrefix: 'parley/',
  })
  const storage = new S3Storage(options)
  t.teardown(() => storage.close())
  const upload = await storage.presignPut('u/1/a.png', {
    contentType: 'image/png',
    contentLength: 10,
    expiresInSeconds: 600,
  })
  const url = new URL(upload.url)
  t.equal(url.origin, 'https://uploads-1250000000.cos.ap-guangzhou.myqcloud.com')
  t.equal(url.pathname, '/parley/u/1/a.png')
  t.match(url.searchParams.get('X-Amz-Credential'), /^AKIDexample\/\d{8}\/ap-guangzhou\/s3\/aws4_request$/)
  t.equal(storage.describe(), 'bucket uploads-1250000000 at https://cos.ap-guangzhou.myqcloud.com, keys under parley/')

  t.throws(
    () =>
      driverOptions(
        { preset: 'cos', region: 'us-east-1', bucket: 'uploads-1250000000', force_path_style: false, key_prefix: '' },
        {},
      ),
    { code: 'PARLEY_ERR_STORAGE_OPTIONS', message: /needs the bucket's region/ },
  )
  t.throws(
    () =>
      driverOptions(
        { preset: 'cos', region: 'ap-shanghai', bucket: 'uploads', force_path_style: false, key_prefix: '' },
        {},
      ),
    { message: /name-appid/ },
  )
})

t.test('credentials: options, else S3_* variables, else the SDK chain; never half a pair', async t => {
  const base = { region: 'us-east-1', bucket: 'b-1', force_path_style: false, key_prefix: '' }
  t.same(
    driverOptions(
      { ...base, access_key_id: 'a', secret_access_key: 's' },
      { S3_ACCESS_KEY_ID: 'x', S3_SECRET_ACCESS_KEY: 'y' },
    ).credentials,
    { accessKeyId: 'a', secretAccessKey: 's' },
  )
  t.same(driverOptions(base, { S3_ACCESS_KEY_ID: 'x', S3_SECRET_ACCESS_KEY: 'y' }).credentials, {
    accessKeyId: 'x',
    secretAccessKey: 'y',
  })
  t.equal(driverOptions(base, {}).credentials, undefined, 'the AWS SDK resolves them itself')
  t.throws(() => driverOptions({ ...base, access_key_id: 'a' }, {}), {
    code: 'PARLEY_ERR_STORAGE_OPTIONS',
    message: /give both/,
  })
  t.equal(driverOptions({ ...base, endpoint: 'https://s3.example.com/' }, {}).endpoint, 'https://s3.example.com')
})

t.test('the plugin: options checked, the driver registered as s3', async t => {
  const gateway = await createTestGateway({
    plugins: [
      {
        plugin: storageS3,
        options: {
          endpoint: server.endpoint,
          bucket: server.bucket,
          force_path_style: true,
          access_key_id: 'S3RVER',
          secret_access_key: 'S3RVER',
        },
      },
    ],
  })
  t.teardown(gateway.close)
  const storage = gateway.registries.storage.get('s3') as S3Storage
  t.ok(storage instanceof S3Storage)
  await storage.ping()
  t.equal(storage.describe(), `bucket parley-test at ${server.endpoint}`)
  const active = gateway.container.resolve<ActiveStorage>(TOKENS.storage)
  t.equal(active.driver, 's3', 'the only driver loaded is the active one')
  t.match((await gateway.inject({ method: 'GET', url: '/readyz' })).json(), {
    status: 'ready',
    checks: { storage: { ok: true } },
  })
  t.equal(
    await gateway.registries.doctor.get('storage')?.run(),
    `driver s3: bucket parley-test at ${server.endpoint}; a probe object was written, read back and deleted`,
  )

  await t.rejects(
    createTestGateway({ plugins: [{ plugin: storageS3, options: { bucket: 'b-1', endpoint: 'ftp://x' } }] }),
    { code: 'PARLEY_ERR_PLUGIN_OPTIONS' },
    'an endpoint must be an http(s) URL',
  )
  await t.rejects(
    createTestGateway({ plugins: [{ plugin: storageS3, options: { bucket: 'b-1', key_prefix: '../x/' } }] }),
    { code: 'PARLEY_ERR_PLUGIN_OPTIONS' },
    'a key prefix follows the key rule',
  )
  await t.rejects(
    createTestGateway({ plugins: [{ plugin: storageS3, options: { bucket: 'b-1', access_key_id: 'only-half' } }] }),
    { code: 'PARLEY_ERR_PLUGIN_SETUP', message: /give both/ },
  )
})

t.test('the bucket CORS rule of docs/storage.md lets the site upload from a browser, and no other site', async t => {
  const docs = readFileSync(path.resolve(import.meta.dirname, '../../../docs/storage.md'), 'utf8')
  const xml = /```xml\n(<CORSConfiguration>[\s\S]*?)```/.exec(docs)?.[1]
  t.ok(xml, 'docs/storage.md has the XML rule')
  const cors = await startS3Server({ bucket: 'cors-test', corsXml: xml })
  t.teardown(() => cors.close())
  const storage = driver({ endpoint: cors.endpoint, bucket: 'cors-test' })
  const body = Buffer.from('from a browser')
  const upload = await storage.presignPut('u/1/a.txt', {
    contentType: 'text/plain',
    contentLength: body.length,
    expiresInSeconds: 60,
  })
  const preflight = (origin: string, headers = 'content-type') =>
    fetch(upload.url, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'PUT', 'access-control-request-headers': headers },
    })

  const allowed = await preflight('https://chat.example.com')
  t.equal(allowed.status, 200, 'the preflight of the site passes')
  t.match(allowed.headers.get('access-control-allow-methods'), /PUT/)
  t.equal(allowed.headers.get('access-control-allow-headers'), 'content-type')
  for (const [origin, headers, what] of [
    ['https://evil.example', 'content-type', 'another site'],
    ['https://chat.example.com', 'content-type,x-extra', 'a header the rule does not allow'],
  ]) {
    const refused = await preflight(origin as string, headers as string)
    t.equal(refused.status, 403, `${what} is refused`)
    await refused.arrayBuffer()
  }
  const sent = await fetch(upload.url, {
    method: 'PUT',
    headers: { ...upload.headers, origin: 'https://chat.example.com' },
    body,
  })
  t.equal(sent.status, 200)
  t.equal(sent.headers.get('access-control-allow-origin'), 'https://chat.example.com')
  t.equal(sent.headers.get('access-control-expose-headers'), 'ETag')
})
