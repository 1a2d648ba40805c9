/**
 * The local driver: the shared storage contract through real HTTP on a listening gateway, then
 * what only this driver does (files on disk, streaming refusals, the download headers, the
 * route's own key checks).
 */
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import t, { type Test } from 'tap'
import { TOKENS, type ActiveStorage, type ObjectStorage } from '@parley/core'
import { createTestGateway, storageContract, type TestGateway } from '@parley/core/testing'
import storageLocal, { LocalStorage, UrlSigner } from '../src/index.js'

async function gatewayWith(
  t: Test,
  options: Record<string, unknown> = {},
  config: Record<string, unknown> = {},
): Promise<{ gateway: TestGateway; storage: LocalStorage }> {
  const gateway = await createTestGateway({ plugins: [{ plugin: storageLocal, options }], listen: true, config })
  t.teardown(gateway.close)
  const storage = gateway.registries.storage.get('local') as LocalStorage
  return { gateway, storage }
}

/** Every file under `dir`, relative, dot-files included. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter(entry => entry.isFile())
    .map(entry => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort()
}

/** A raw PUT whose body is written in pieces without Content-Length (chunked). */
function chunkedPut(
  url: string,
  contentType: string,
  pieces: Buffer[],
  { abortAfter }: { abortAfter?: number } = {},
): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise(resolve => {
    const request = http.request(
      url,
      { method: 'PUT', headers: { 'content-type': contentType, 'transfer-encoding': 'chunked' } },
      response => {
        let body = ''
        response.on('data', chunk => (body += chunk))
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }))
        response.on('error', error => resolve({ error: error.message }))
      },
    )
    request.on('error', error => resolve({ error: error.message }))
    let index = 0
    const next = () => {
      if (abortAfter !== undefined && index === abortAfter) {
        request.destroy()
        return
      }
      const piece = pieces[index++]
      if (!piece) {
        request.end()
        return
      }
      request.write(piece, () => setTimeout(next, 5))
    }
    next()
  })
}

t.test('storage contract: local driver', t =>
  storageContract(t, {
    signatureParam: 'sig',
    open: async t => {
      const { gateway, storage } = await gatewayWith(t)
      return { storage: storage as ObjectStorage, base: gateway.url }
    },
  }),
)

t.test('objects are files under <data_dir>/uploads with a metadata file; nothing else is left', async t => {
  const { gateway, storage } = await gatewayWith(t)
  const root = path.join(gateway.dataDir, 'uploads')
  t.equal(storage.root, root)
  t.equal(storage.describe(), `files under ${root}`)
  const bytes = randomBytes(3000)
  const put = await storage.presignPut('u/1/a.png', {
    contentType: 'image/png',
    contentLength: bytes.length,
    expiresInSeconds: 60,
  })
  t.match(
    put.url,
    /^\/storage\/local\/u\/1\/a\.png\?expires=\d+&type=image%2Fpng&length=3000&sig=[\w-]{43}$/,
    'a path on the gateway while site_base_url is unset',
  )
  const response = await fetch(new URL(put.url, gateway.url), { method: 'PUT', headers: put.headers, body: bytes })
  t.equal(response.status, 200)
  t.same(filesUnder(root), ['u/1/.a.png.meta.json', 'u/1/a.png'])
  t.ok(readFileSync(path.join(root, 'u/1/a.png')).equals(bytes))
  t.same(JSON.parse(readFileSync(path.join(root, 'u/1/.a.png.meta.json'), 'utf8')), {
    content_type: 'image/png',
    size: 3000,
  })
  await storage.ping()
  t.same(filesUnder(root), ['u/1/.a.png.meta.json', 'u/1/a.png'], 'ping leaves no probe behind')
  const fresh = new LocalStorage({
    root: path.join(gateway.dataDir, 'not', 'yet'),
    signer: new UrlSigner('k'.repeat(32)),
    baseUrl: () => '',
  })
  await fresh.ping()
  t.notOk(
    existsSync(path.join(gateway.dataDir, 'not')),
    'ping on a fresh install removes the folders it made (doctor writes nothing)',
  )
  await storage.delete('u/1/a.png')
  t.same(filesUnder(root), [], 'delete removes the metadata too')
})

t.test('the dir option and site_base_url', async t => {
  const { storage } = await gatewayWith(
    t,
    { dir: 'elsewhere/objects' },
    { settings: { site_base_url: 'https://chat.example.com/parley/' } },
  )
  t.equal(storage.root, path.resolve('elsewhere/objects'), 'relative to the working directory')
  const put = await storage.presignPut('x.txt', { contentType: 'text/plain', contentLength: 1, expiresInSeconds: 60 })
  t.match(put.url, /^https:\/\/chat\.example\.com\/parley\/storage\/local\/x\.txt\?/, 'absolute under site_base_url')
  const get = await storage.presignGet('x.txt', { expiresInSeconds: 60 })
  t.match(get.url, /^https:\/\/chat\.example\.com\/parley\/storage\/local\/x\.txt\?expires=\d+&sig=/)
  t.notOk(existsSync(storage.root), 'the folder is created by the first write, not at start')
})

t.test('a chunked upload that runs over its size is cut off with 413 and leaves nothing', async t => {
  const { gateway, storage } = await gatewayWith(t)
  const root = storage.root
  const put = await storage.presignPut('big/over.bin', {
    contentType: 'application/octet-stream',
    contentLength: 100_000,
    expiresInSeconds: 60,
  })
  const pieces = Array.from({ length: 40 }, () => randomBytes(16_384)) // 640 KiB offered
  const result = await chunkedPut(new URL(put.url, gateway.url).href, 'application/octet-stream', pieces)
  if ('status' in result) {
    t.equal(result.status, 413)
    t.match(JSON.parse(result.body), {
      error: { code: 'PARLEY_ERR_STORAGE_LOCAL_TOO_LARGE', type: 'payload_too_large' },
    })
  } else {
    t.pass(`the connection was closed while the client was still sending (${result.error})`)
  }
  t.same(filesUnder(root), [], 'no partial or temporary file')
  t.equal(await storage.head('big/over.bin'), undefined)
})

t.test('a chunked upload of the exact size is stored; one that stops short is not', async t => {
  const { gateway, storage } = await gatewayWith(t)
  const pieces = Array.from({ length: 4 }, () => randomBytes(1000))
  const put = await storage.presignPut('c/exact.bin', {
    contentType: 'application/octet-stream',
    contentLength: 4000,
    expiresInSeconds: 60,
  })
  const ok = await chunkedPut(new URL(put.url, gateway.url).href, 'application/octet-stream', pieces)
  t.match(ok, { status: 200 })
  t.same(await storage.head('c/exact.bin'), { contentType: 'application/octet-stream', size: 4000 })

  const shortPut = await storage.presignPut('c/short.bin', {
    contentType: 'application/octet-stream',
    contentLength: 5000,
    expiresInSeconds: 60,
  })
  const short = await chunkedPut(new URL(shortPut.url, gateway.url).href, 'application/octet-stream', pieces)
  t.match(short, { status: 400 })
  t.match(JSON.parse((short as { body: string }).body), {
    error: { code: 'PARLEY_ERR_STORAGE_LOCAL_LENGTH', message: 'This upload must be exactly 5000 bytes; 4000 arrived' },
  })

  const cutPut = await storage.presignPut('c/cut.bin', {
    contentType: 'application/octet-stream',
    contentLength: 4000,
    expiresInSeconds: 60,
  })
  await chunkedPut(new URL(cutPut.url, gateway.url).href, 'application/octet-stream', pieces, { abortAfter: 2 })
  // The server notices the closed connection a moment later.
  for (let i = 0; i < 50 && filesUnder(storage.root).some(name => name.endsWith('.part')); i++)
    await new Promise(resolve => setTimeout(resolve, 20))
  t.same(
    filesUnder(storage.root),
    ['c/.exact.bin.meta.json', 'c/exact.bin'],
    'neither the short nor the interrupted upload left a file',
  )
})

t.test('refusals name their reason', async t => {
  const { gateway, storage } = await gatewayWith(t)
  const put = await storage.presignPut('r/a.png', { contentType: 'image/png', contentLength: 10, expiresInSeconds: 60 })
  const url = new URL(put.url, gateway.url)
  const send = (init: { headers?: Record<string, string>; body?: Buffer; url?: URL | string }) =>
    fetch(init.url ?? url, {
      method: 'PUT',
      headers: init.headers ?? put.headers,
      body: init.body ?? randomBytes(10),
    }).then(async r => ({ status: r.status, body: (await r.json()) as { error: { code: string; message: string } } }))

  t.match(await send({ body: randomBytes(11) }), {
    status: 413,
    body: {
      error: {
        code: 'PARLEY_ERR_STORAGE_LOCAL_TOO_LARGE',
        message: 'This upload must be exactly 10 bytes; more arrived',
      },
    },
  })
  t.match(await send({ headers: { 'content-type': 'image/jpeg' } }), {
    status: 415,
    body: {
      error: {
        code: 'PARLEY_ERR_STORAGE_LOCAL_CONTENT_TYPE',
        message: 'This upload must be sent with Content-Type image/png',
      },
    },
  })
  const noType = await fetch(url, { method: 'PUT', body: new Uint8Array(randomBytes(10)) })
  t.equal(noType.status, 415, 'no content type at all')
  await noType.arrayBuffer()
  const tampered = new URL(url)
  tampered.searchParams.set('length', '1000000')
  t.match(
    await send({ url: tampered, body: randomBytes(10) }),
    { status: 403, body: { error: { code: 'PARLEY_ERR_STORAGE_LOCAL_SIGNATURE' } } },
    'a raised size voids the signature',
  )
  const retyped = new URL(url)
  retyped.searchParams.set('type', 'text/html')
  t.match(
    await send({ url: retyped, headers: { 'content-type': 'text/html' } }),
    { status: 403, body: { error: { code: 'PARLEY_ERR_STORAGE_LOCAL_SIGNATURE' } } },
    'a changed type voids the signature',
  )
  const later = new URL(url)
  later.searchParams.set('expires', String(Number(later.searchParams.get('expires')) + 3600))
  t.match(
    await send({ url: later }),
    { status: 403, body: { error: { code: 'PARLEY_ERR_STORAGE_LOCAL_SIGNATURE' } } },
    'a later expiry voids the signature',
  )

  const other = new LocalStorage({
    root: storage.root,
    signer: new UrlSigner(randomBytes(32).toString('hex')),
    baseUrl: () => '',
  })
  const foreign = await other.presignPut('r/a.png', {
    contentType: 'image/png',
    contentLength: 10,
    expiresInSeconds: 60,
  })
  t.match(
    await send({ url: new URL(foreign.url, gateway.url) }),
    { status: 403 },
    'a URL signed with another SECRET_KEY is refused',
  )

  const past = new LocalStorage({
    root: storage.root,
    signer: new UrlSigner(gateway.config.secrets.secret_key as string),
    baseUrl: () => '',
    now: () => Date.now() - 120_000,
  })
  const expired = await past.presignPut('r/a.png', {
    contentType: 'image/png',
    contentLength: 10,
    expiresInSeconds: 60,
  })
  const refused = await send({ url: new URL(expired.url, gateway.url) })
  t.match(refused, {
    status: 403,
    body: {
      error: { code: 'PARLEY_ERR_STORAGE_LOCAL_EXPIRED', message: /^This storage URL expired at \d{4}-\d\d-\d\dT/ },
    },
  })
  t.equal(await storage.head('r/a.png'), undefined)
})

t.test('downloads carry the stored type and headers that keep them from running as pages', async t => {
  const { gateway, storage } = await gatewayWith(t)
  await storage.put('d/page.html', Buffer.from('<script>alert(1)</script>'), { contentType: 'image/png' })
  const view = await storage.presignGet('d/page.html', { expiresInSeconds: 300 })
  const response = await fetch(new URL(view.url, gateway.url))
  t.equal(response.status, 200)
  t.equal(response.headers.get('content-type'), 'image/png', 'the signed type, not the extension')
  t.equal(response.headers.get('content-length'), '25')
  t.match(response.headers.get('cache-control'), /^private, max-age=(29\d|300)$/)
  t.equal(response.headers.get('x-content-type-options'), 'nosniff')
  t.equal(response.headers.get('content-security-policy'), "default-src 'none'; sandbox")
  await response.arrayBuffer()

  writeFileSync(path.join(storage.root, 'd', 'legacy.bin'), 'no metadata')
  t.same(
    await storage.head('d/legacy.bin'),
    { contentType: 'application/octet-stream', size: 11 },
    'a file without metadata is octet-stream',
  )

  const missing = await storage.presignGet('d/none.png', { expiresInSeconds: 60 })
  const notFound = await fetch(new URL(missing.url, gateway.url))
  t.equal(notFound.status, 404)
  t.match(await notFound.json(), { error: { code: 'PARLEY_ERR_STORAGE_LOCAL_NOT_FOUND' } })
})

t.test('the routes refuse keys that leave the folder before looking at the signature', async t => {
  const { gateway, storage } = await gatewayWith(t)
  mkdirSync(storage.root, { recursive: true })
  writeFileSync(path.join(gateway.dataDir, 'secret.txt'), 'not yours')
  for (const raw of [
    '/storage/local/../secret.txt',
    '/storage/local/%2e%2e/secret.txt',
    '/storage/local/a/%2e%2e/%2e%2e/secret.txt',
    '/storage/local/%2Fetc%2Fpasswd',
    '/storage/local/a%5c..%5csecret.txt',
    '/storage/local/.u/x',
  ]) {
    const response = await gateway.inject({ method: 'GET', url: `${raw}?expires=9999999999&sig=x` })
    // 404: the URL was normalised before routing (it no longer starts with /storage/local/).
    t.ok(response.statusCode === 400 || response.statusCode === 404, `${raw}: ${response.statusCode}`)
    t.notMatch(response.body, /not yours/)
    if (response.statusCode === 400) t.match(response.json(), { error: { code: 'PARLEY_ERR_STORAGE_KEY' } })
  }
  const put = await fetch(
    `${gateway.url}/storage/local/a%2F%2e%2e%2F%2e%2e/escape.txt?expires=9999999999&type=text%2Fplain&length=1&sig=x`,
    { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'x' },
  )
  t.equal(put.status, 400, 'an encoded climb over a real socket')
  t.match(await put.json(), { error: { code: 'PARLEY_ERR_STORAGE_KEY' } })
  t.notOk(existsSync(path.join(gateway.dataDir, 'escape.txt')))
})

t.test('an object and a folder of the same name conflict with 409', async t => {
  const { storage } = await gatewayWith(t)
  await storage.put('k/a', Buffer.from('file'), { contentType: 'text/plain' })
  await t.rejects(storage.put('k/a/b', Buffer.from('x'), { contentType: 'text/plain' }), {
    code: 'PARLEY_ERR_STORAGE_LOCAL_CONFLICT',
    statusCode: 409,
  })
  await storage.put('k/c/d', Buffer.from('x'), { contentType: 'text/plain' })
  await t.rejects(storage.put('k/c', Buffer.from('x'), { contentType: 'text/plain' }), {
    code: 'PARLEY_ERR_STORAGE_LOCAL_CONFLICT',
  })
  t.equal(await storage.head('k/c'), undefined, 'a folder is no object')
  t.equal(await storage.get('k/c'), undefined)
  await storage.delete('k/c')
  t.same(
    await storage.head('k/c/d'),
    { contentType: 'text/plain', size: 1 },
    'deleting the folder name removes nothing',
  )
  t.same(
    filesUnder(storage.root).filter(name => name.endsWith('.part')),
    [],
  )
})

t.test('the active driver when it is the only one: TOKENS.storage, /readyz and doctor', async t => {
  const { gateway, storage } = await gatewayWith(t)
  const active = gateway.container.resolve<ActiveStorage>(TOKENS.storage)
  t.equal(active.driver, 'local')
  await active.put('via/token.txt', Buffer.from('x'), { contentType: 'text/plain' })
  t.same(await storage.head('via/token.txt'), { contentType: 'text/plain', size: 1 })
  const ready = await gateway.inject({ method: 'GET', url: '/readyz' })
  t.match(ready.json(), { status: 'ready', checks: { storage: { ok: true } } })
  t.equal(
    await gateway.registries.doctor.get('storage')?.run(),
    `driver local: files under ${storage.root}; a probe object was written, read back and deleted`,
  )
})
