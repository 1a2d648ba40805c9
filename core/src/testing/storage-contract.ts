import { randomBytes, randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Test } from 'tap'
import { ParleyError } from '../errors.js'
import type { ObjectStorage } from '../storage/port.js'

/** One driver under the contract: the storage, and where its URLs are answered. */
export interface OpenedStorage {
  readonly storage: ObjectStorage
  /** Resolves relative URLs (the local driver's paths on the gateway); absolute ones ignore it. */
  readonly base?: string
}

export interface StorageContractOptions {
  /** Opens a fresh driver for one subtest; close what it starts with `t.teardown`. */
  open(t: Test): Promise<OpenedStorage>
  /** The query parameter that carries the URL's signature (`sig`, `X-Amz-Signature`). */
  readonly signatureParam: string
  /** Strings that must never show in `describe()` (credentials). */
  readonly secrets?: readonly string[]
}

/**
 * The contract every `ObjectStorage` driver keeps, with real HTTP against whatever serves its
 * URLs (the gateway for the local driver, an S3-compatible server for the S3 driver): uploads
 * through presigned URLs with exactly the bound size and type, downloads, expiry, tampering,
 * keys that try to escape, delete and ping. A refusal is any 4xx and nothing stored: who checks
 * the signature decides the status (the gateway says 413 or 415, a bucket says 403).
 *
 * @example
 * t.test('local driver', t => storageContract(t, { signatureParam: 'sig', open: async t => { ... } }))
 */
export async function storageContract(t: Test, options: StorageContractOptions): Promise<void> {
  const { open, signatureParam } = options
  const keyOf = (name: string) => `contract/${randomUUID()}/${name}`
  const absolute = (opened: OpenedStorage, url: string) => new URL(url, opened.base).href
  const upload = async (
    opened: OpenedStorage,
    url: string,
    init: { method?: string; headers?: Record<string, string>; body: Uint8Array },
  ) =>
    // A Buffer view: the DOM typings of the browser tests' tsconfig take no Uint8Array<ArrayBufferLike>.
    fetch(absolute(opened, url), {
      method: init.method ?? 'PUT',
      headers: init.headers,
      body: Buffer.from(init.body.buffer, init.body.byteOffset, init.body.byteLength) as unknown as RequestInit['body'],
    })
  const readAll = async (body: AsyncIterable<Uint8Array>) => {
    const chunks: Buffer[] = []
    for await (const chunk of body) chunks.push(Buffer.from(chunk))
    return Buffer.concat(chunks)
  }
  const refused = async (t: Test, response: Response, what: string) => {
    t.ok(response.status >= 400 && response.status < 500, `${what}: refused with a 4xx (${response.status})`)
    await response.arrayBuffer()
  }

  await t.test('presigned upload with fetch, then presigned download', async t => {
    const opened = await open(t)
    const { storage } = opened
    const key = keyOf('photo.png')
    const bytes = randomBytes(70_000)
    const put = await storage.presignPut(key, {
      contentType: 'image/png',
      contentLength: bytes.length,
      expiresInSeconds: 60,
    })
    t.equal(put.method, 'PUT')
    t.same(put.headers, { 'content-type': 'image/png' }, 'the client sends the content type, nothing else')
    t.equal(put.fields, undefined)
    t.ok(
      put.expiresAt.getTime() > Date.now() + 50_000 && put.expiresAt.getTime() <= Date.now() + 61_000,
      'expiresAt is about a minute away',
    )
    t.equal(await storage.head(key), undefined, 'nothing is stored before the upload')

    const uploaded = await upload(opened, put.url, { headers: put.headers, body: bytes })
    t.ok(uploaded.ok, `upload answered ${uploaded.status}`)
    await uploaded.arrayBuffer()
    t.same(await storage.head(key), { contentType: 'image/png', size: bytes.length })

    const got = await storage.get(key)
    t.ok(got)
    t.equal(got?.contentType, 'image/png')
    t.equal(got?.size, bytes.length)
    t.ok(got && (await readAll(got.body)).equals(bytes), 'get streams the same bytes')

    const view = await storage.presignGet(key, { expiresInSeconds: 60 })
    t.ok(view.expiresAt.getTime() > Date.now() + 50_000)
    const downloaded = await fetch(absolute(opened, view.url))
    t.equal(downloaded.status, 200)
    t.equal(downloaded.headers.get('content-type'), 'image/png')
    t.ok(Buffer.from(await downloaded.arrayBuffer()).equals(bytes), 'the download is the upload')
  })

  await t.test('put, overwrite, an empty object, get and head on a missing key', async t => {
    const { storage } = await open(t)
    const key = keyOf('notes.txt')
    await storage.put(key, Buffer.from('first'), { contentType: 'text/plain' })
    await storage.put(key, Buffer.from('second version'), { contentType: 'text/markdown' })
    const got = await storage.get(key)
    t.equal(got?.contentType, 'text/markdown')
    t.equal(got && (await readAll(got.body)).toString(), 'second version', 'the second put replaced the first')
    const empty = keyOf('empty.bin')
    await storage.put(empty, new Uint8Array(0), { contentType: 'application/octet-stream' })
    t.same(await storage.head(empty), { contentType: 'application/octet-stream', size: 0 })
    t.equal(await storage.get(keyOf('missing.png')), undefined)
    t.equal(await storage.head(keyOf('missing.png')), undefined)
    await t.rejects(storage.put(key, Buffer.from('x'), { contentType: 'Text/Plain' }), {
      code: 'PARLEY_ERR_STORAGE_OPTIONS',
    })
  })

  await t.test('a body larger or smaller than the bound size is refused and nothing is stored', async t => {
    const opened = await open(t)
    const { storage } = opened
    const key = keyOf('limited.png')
    const put = await storage.presignPut(key, { contentType: 'image/png', contentLength: 1000, expiresInSeconds: 60 })
    await refused(t, await upload(opened, put.url, { headers: put.headers, body: randomBytes(1001) }), 'one byte over')
    t.equal(await storage.head(key), undefined, 'nothing stored after the oversize upload')
    await refused(t, await upload(opened, put.url, { headers: put.headers, body: randomBytes(999) }), 'one byte short')
    t.equal(await storage.head(key), undefined, 'nothing stored after the short upload')
    const ok = await upload(opened, put.url, { headers: put.headers, body: randomBytes(1000) })
    t.ok(ok.ok, 'the same URL still takes the exact size')
    await ok.arrayBuffer()
  })

  await t.test('a content type other than the bound one is refused', async t => {
    const opened = await open(t)
    const { storage } = opened
    const key = keyOf('picture.png')
    const bytes = randomBytes(100)
    const put = await storage.presignPut(key, {
      contentType: 'image/png',
      contentLength: bytes.length,
      expiresInSeconds: 60,
    })
    await refused(
      t,
      await upload(opened, put.url, { headers: { 'content-type': 'text/html' }, body: bytes }),
      'text/html instead of image/png',
    )
    await refused(
      t,
      await upload(opened, put.url, { headers: { 'content-type': 'image/png; x=1' }, body: bytes }),
      'a parameter added',
    )
    t.equal(await storage.head(key), undefined, 'nothing stored')
  })

  await t.test('expired URLs are refused, upload and download', async t => {
    const opened = await open(t)
    const { storage } = opened
    const stored = keyOf('old.txt')
    await storage.put(stored, Buffer.from('old'), { contentType: 'text/plain' })
    const key = keyOf('late.txt')
    const put = await storage.presignPut(key, { contentType: 'text/plain', contentLength: 4, expiresInSeconds: 1 })
    const view = await storage.presignGet(stored, { expiresInSeconds: 1 })
    await sleep(Math.max(0, put.expiresAt.getTime() - Date.now()) + 1100)
    await refused(
      t,
      await upload(opened, put.url, { headers: put.headers, body: Buffer.from('late') }),
      'upload after expiry',
    )
    t.equal(await storage.head(key), undefined)
    await refused(t, await fetch(absolute(opened, view.url)), 'download after expiry')
  })

  await t.test('tampered URLs are refused', async t => {
    const opened = await open(t)
    const { storage } = opened
    const key = keyOf('signed.txt')
    const body = Buffer.from('payload')
    const put = await storage.presignPut(key, {
      contentType: 'text/plain',
      contentLength: body.length,
      expiresInSeconds: 60,
    })
    const tamper = (url: string, change: (u: URL) => void) => {
      const parsed = new URL(absolute(opened, url))
      change(parsed)
      return parsed.href
    }
    const flip = (value: string) => value.slice(0, -1) + (value.endsWith('a') ? 'b' : 'a')
    const badSignature = tamper(put.url, u =>
      u.searchParams.set(signatureParam, flip(u.searchParams.get(signatureParam) ?? '')),
    )
    await refused(t, await upload(opened, badSignature, { headers: put.headers, body }), 'a changed signature')
    const noSignature = tamper(put.url, u => u.searchParams.delete(signatureParam))
    await refused(t, await upload(opened, noSignature, { headers: put.headers, body }), 'no signature')
    const otherKey = tamper(put.url, u => (u.pathname = u.pathname.replace(/signed\.txt$/, 'other.txt')))
    await refused(
      t,
      await upload(opened, otherKey, { headers: put.headers, body }),
      'the URL of one key used for another',
    )
    t.equal(await storage.head(key), undefined)
    t.equal(await storage.head(key.replace(/signed\.txt$/, 'other.txt')), undefined)

    await storage.put(key, body, { contentType: 'text/plain' })
    const view = await storage.presignGet(key, { expiresInSeconds: 60 })
    const badView = tamper(view.url, u =>
      u.searchParams.set(signatureParam, flip(u.searchParams.get(signatureParam) ?? '')),
    )
    await refused(t, await fetch(badView), 'a download with a changed signature')
    await refused(
      t,
      await upload(opened, view.url, { headers: put.headers, body: Buffer.from('replaced') }),
      'a download URL used to upload',
    )
    const still = await storage.get(key)
    t.equal(still && (await readAll(still.body)).toString(), 'payload', 'the object is unchanged')
  })

  await t.test('keys that escape or surprise are refused by every method', async t => {
    const { storage } = await open(t)
    for (const key of [
      '../outside.txt',
      'a/../../outside.txt',
      '/etc/passwd',
      'a\\..\\b',
      'a\u0000b',
      '.hidden',
      'a//b',
      '',
    ]) {
      const calls: Array<[string, () => Promise<unknown>]> = [
        [
          'presignPut',
          () => storage.presignPut(key, { contentType: 'text/plain', contentLength: 1, expiresInSeconds: 60 }),
        ],
        ['presignGet', () => storage.presignGet(key, { expiresInSeconds: 60 })],
        ['put', () => storage.put(key, Buffer.from('x'), { contentType: 'text/plain' })],
        ['get', () => storage.get(key)],
        ['head', () => storage.head(key)],
        ['delete', () => storage.delete(key)],
      ]
      for (const [name, call] of calls) {
        const error = await call().then(
          () => undefined,
          (error: unknown) => error,
        )
        t.ok(
          error instanceof ParleyError && error.code === 'PARLEY_ERR_STORAGE_KEY',
          `${name}(${JSON.stringify(key)}) is refused with PARLEY_ERR_STORAGE_KEY`,
        )
      }
    }
  })

  await t.test('delete removes the object; deleting twice is fine', async t => {
    const opened = await open(t)
    const { storage } = opened
    const key = keyOf('gone.txt')
    await storage.put(key, Buffer.from('bye'), { contentType: 'text/plain' })
    const view = await storage.presignGet(key, { expiresInSeconds: 60 })
    await storage.delete(key)
    t.equal(await storage.head(key), undefined)
    t.equal(await storage.get(key), undefined)
    await refused(t, await fetch(absolute(opened, view.url)), 'a download URL of a deleted object')
    await storage.delete(key)
    await storage.delete(keyOf('never-there.txt'))
    t.pass('deleting a missing object resolves')
  })

  await t.test('ping and describe', async t => {
    const { storage } = await open(t)
    await storage.ping()
    t.pass('ping resolves')
    const description = storage.describe()
    t.type(description, 'string')
    for (const secret of options.secrets ?? []) t.notOk(description.includes(secret), 'describe() shows no credential')
  })
}
