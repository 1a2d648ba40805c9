import { randomBytes, randomUUID } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, open, readFile, rename, rm, rmdir, stat, writeFile, type FileHandle } from 'node:fs/promises'
import path from 'node:path'
import type { Readable } from 'node:stream'
import {
  checkContentType,
  checkExpiry,
  checkPresignPut,
  checkStorageKey,
  errors,
  ParleyError,
  type ObjectStorage,
  type PresignedDownload,
  type PresignedUpload,
  type PresignPutOptions,
  type StoredObject,
  type StoredObjectInfo,
} from '@parley/core'
import { localErrors } from './errors.js'
import type { UrlSigner } from './signer.js'

/** Where the gateway answers the driver's URLs: `/storage/local/<key>?...`. */
export const ROUTE_PREFIX = '/storage/local/'
/** Keys of the objects `ping()` writes and deletes again: `parley-probe-<uuid>`, in the folder itself. */
export const PROBE_PREFIX = 'parley-probe-'
/** Stored for an object whose metadata file is missing (written before this driver kept one). */
const FALLBACK_TYPE = 'application/octet-stream'

export interface LocalStorageOptions {
  /** The folder that holds every object; created when the first object is written. */
  readonly root: string
  readonly signer: UrlSigner
  /** Prefix of the URLs (`https://chat.example.com`), or '' for paths on the gateway. */
  readonly baseUrl: () => string
  /** Milliseconds since the epoch; tests move time. */
  readonly now?: () => number
}

/** What a valid upload URL allows: exactly this type and this many bytes, until `expires`. */
export interface UploadGrant {
  readonly contentType: string
  readonly length: number
  readonly expires: number
}

type Query = Readonly<Record<string, unknown>>

interface Meta {
  readonly content_type: string
  readonly size: number
}

/**
 * Objects as files under one folder. Uploads and downloads go through URLs the gateway signs
 * (HMAC-SHA256, see `UrlSigner`) and serves itself (see `routes.ts`).
 *
 * - An object `a/b.png` is the file `<root>/a/b.png`; its content type is kept beside it in
 *   `<root>/a/.b.png.meta.json`. The type that was bound into the upload's signature is the
 *   truth, not whatever extension a key happens to have: a key needs none, and an upload signed
 *   as `image/png` under a `.html` key is still served as `image/png`.
 * - Writes go to `.<name>.<random>.part` in the same folder and are renamed into place only
 *   when complete and of the bound size, so no reader ever sees a partial object and an
 *   interrupted upload leaves nothing behind. No key can name these files: no key segment
 *   starts with a dot.
 * - Every key passes `checkStorageKey`, and the resolved path must still be inside the folder.
 */
export class LocalStorage implements ObjectStorage {
  readonly root: string
  readonly #signer: UrlSigner
  readonly #baseUrl: () => string
  readonly #now: () => number

  constructor(options: LocalStorageOptions) {
    this.root = path.resolve(options.root)
    this.#signer = options.signer
    this.#baseUrl = options.baseUrl
    this.#now = options.now ?? Date.now
  }

  async presignPut(key: string, options: PresignPutOptions): Promise<PresignedUpload> {
    this.fileOf(key)
    const { contentType, contentLength, expiresInSeconds } = checkPresignPut(options)
    const expires = this.#expires(expiresInSeconds)
    const sig = this.#signer.sign(uploadParts(key, expires, contentType, contentLength))
    const query = new URLSearchParams({
      expires: String(expires),
      type: contentType,
      length: String(contentLength),
      sig,
    })
    return {
      url: this.#url(key, query),
      method: 'PUT',
      headers: { 'content-type': contentType },
      expiresAt: new Date(expires * 1000),
    }
  }

  async presignGet(key: string, options: { readonly expiresInSeconds: number }): Promise<PresignedDownload> {
    this.fileOf(key)
    const expires = this.#expires(options.expiresInSeconds)
    const sig = this.#signer.sign(downloadParts(key, expires))
    return {
      url: this.#url(key, new URLSearchParams({ expires: String(expires), sig })),
      expiresAt: new Date(expires * 1000),
    }
  }

  async put(key: string, body: Uint8Array, options: { readonly contentType: string }): Promise<void> {
    const file = this.fileOf(key)
    const contentType = checkContentType(options.contentType)
    await this.#store(key, file, contentType, body.length, temp => writeFile(temp, body, { flag: 'wx', mode: 0o600 }))
  }

  /**
   * Stores an upload that arrives as a stream, as `grant` allows: more bytes than the grant
   * rejects at once (`PARLEY_ERR_STORAGE_LOCAL_TOO_LARGE`), fewer at the end, an interrupted
   * stream as aborted; in every such case nothing is stored and the temporary file is gone.
   */
  async receive(key: string, source: Readable, grant: UploadGrant): Promise<void> {
    const file = this.fileOf(key)
    await this.#store(key, file, grant.contentType, grant.length, temp => receiveInto(source, temp, grant.length))
  }

  async get(key: string): Promise<StoredObject | undefined> {
    const file = this.fileOf(key)
    let handle: FileHandle
    try {
      handle = await open(file, 'r')
    } catch (error) {
      if (isMissing(error)) return undefined
      throw failed('reading an object', error)
    }
    try {
      const info = await handle.stat()
      if (!info.isFile()) {
        await handle.close()
        return undefined
      }
      const meta = await this.#meta(file)
      // Opened first, then read: a delete in between leaves this reader its bytes.
      return { contentType: meta?.content_type ?? FALLBACK_TYPE, size: info.size, body: handle.createReadStream() }
    } catch (error) {
      await handle.close().catch(() => undefined)
      throw failed('reading an object', error)
    }
  }

  async head(key: string): Promise<StoredObjectInfo | undefined> {
    const file = this.fileOf(key)
    try {
      const info = await stat(file)
      if (!info.isFile()) return undefined
      const meta = await this.#meta(file)
      return { contentType: meta?.content_type ?? FALLBACK_TYPE, size: info.size }
    } catch (error) {
      if (isMissing(error)) return undefined
      throw failed('reading an object', error)
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.fileOf(key)
    try {
      const info = await stat(file)
      if (!info.isFile()) return // a folder of other keys' objects: no object has this key
      await rm(file, { force: true })
      await rm(metaOf(file), { force: true })
    } catch (error) {
      if (isMissing(error)) return
      throw failed('deleting an object', error)
    }
  }

  /**
   * Writes, reads back and deletes a probe object in the folder itself. A folder that did not
   * exist before is removed again (as far as it is still empty), so `parley doctor` on a fresh
   * install leaves nothing behind.
   */
  async ping(): Promise<void> {
    let created: string | undefined
    try {
      created = await mkdir(this.root, { recursive: true, mode: 0o700 })
    } catch (error) {
      throw failed('creating the storage folder', error)
    }
    const key = `${PROBE_PREFIX}${randomUUID()}`
    const probe = randomBytes(16)
    try {
      await this.put(key, probe, { contentType: FALLBACK_TYPE })
      const got = await this.get(key)
      if (!got)
        throw errors.PARLEY_ERR_STORAGE_FAILED({
          reason: `the probe object written to ${this.root} cannot be read back`,
        })
      const chunks: Buffer[] = []
      for await (const chunk of got.body) chunks.push(Buffer.from(chunk))
      if (!Buffer.concat(chunks).equals(probe))
        throw errors.PARLEY_ERR_STORAGE_FAILED({
          reason: `the probe object read back from ${this.root} differs from what was written`,
        })
    } finally {
      await this.delete(key)
      if (created !== undefined) await removeEmptyUpTo(this.root, created)
    }
  }

  describe(): string {
    return `files under ${this.root}`
  }

  /** The file of `key`: the key passes `checkStorageKey`, and its path stays inside the folder. */
  fileOf(key: string): string {
    checkStorageKey(key)
    const file = path.resolve(this.root, key)
    if (!file.startsWith(this.root + path.sep)) {
      throw errors.PARLEY_ERR_STORAGE_KEY({ key: JSON.stringify(key), reason: 'it leads out of the storage folder' })
    }
    return file
  }

  /**
   * Checks an upload URL's query against its key: the signature (constant-time), then the
   * expiry. Returns what the upload may be.
   */
  verifyUpload(key: string, query: Query): UploadGrant {
    this.fileOf(key)
    const { expires, type, length, sig } = query
    if (!isDigits(expires) || !isDigits(length) || typeof type !== 'string' || typeof sig !== 'string')
      throw localErrors.PARLEY_ERR_STORAGE_LOCAL_SIGNATURE()
    if (!this.#signer.verify(uploadParts(key, Number(expires), type, Number(length)), sig))
      throw localErrors.PARLEY_ERR_STORAGE_LOCAL_SIGNATURE()
    this.#checkNotExpired(Number(expires))
    return { contentType: type, length: Number(length), expires: Number(expires) }
  }

  /** Checks a download URL's query against its key; returns when it expires (epoch seconds). */
  verifyDownload(key: string, query: Query): number {
    this.fileOf(key)
    const { expires, sig } = query
    if (!isDigits(expires) || typeof sig !== 'string') throw localErrors.PARLEY_ERR_STORAGE_LOCAL_SIGNATURE()
    if (!this.#signer.verify(downloadParts(key, Number(expires)), sig))
      throw localErrors.PARLEY_ERR_STORAGE_LOCAL_SIGNATURE()
    this.#checkNotExpired(Number(expires))
    return Number(expires)
  }

  /** Seconds since the epoch, now. */
  nowSeconds(): number {
    return Math.floor(this.#now() / 1000)
  }

  #checkNotExpired(expires: number): void {
    if (this.#now() / 1000 > expires)
      throw localErrors.PARLEY_ERR_STORAGE_LOCAL_EXPIRED({ expired_at: new Date(expires * 1000).toISOString() })
  }

  #expires(seconds: number): number {
    return this.nowSeconds() + checkExpiry(seconds)
  }

  #url(key: string, query: URLSearchParams): string {
    return `${this.#baseUrl().replace(/\/+$/, '')}${ROUTE_PREFIX}${key}?${query.toString()}`
  }

  async #meta(file: string): Promise<Meta | undefined> {
    try {
      const meta = JSON.parse(await readFile(metaOf(file), 'utf8')) as Partial<Meta>
      return typeof meta.content_type === 'string' ? (meta as Meta) : undefined
    } catch {
      return undefined
    }
  }

  /**
   * Writes the bytes (`fill` into a temporary file of the same folder), then the metadata,
   * then renames the object into place. Any failure removes both temporary files.
   */
  async #store(
    key: string,
    file: string,
    contentType: string,
    size: number,
    fill: (temp: string) => Promise<unknown>,
  ): Promise<void> {
    const dir = path.dirname(file)
    const name = path.basename(file)
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 })
    } catch (error) {
      throw isConflict(error)
        ? localErrors.PARLEY_ERR_STORAGE_LOCAL_CONFLICT({ key })
        : failed('creating a folder', error)
    }
    const nonce = randomBytes(8).toString('hex')
    const temp = path.join(dir, `.${name}.${nonce}.part`)
    const metaTemp = path.join(dir, `.${name}.${nonce}.meta.part`)
    try {
      await fill(temp)
      const meta: Meta = { content_type: contentType, size }
      await writeFile(metaTemp, JSON.stringify(meta), { flag: 'wx', mode: 0o600 })
      await rename(metaTemp, metaOf(file))
      await rename(temp, file)
    } catch (error) {
      await Promise.all([rm(temp, { force: true }), rm(metaTemp, { force: true })])
      if (error instanceof ParleyError) throw error
      throw isConflict(error)
        ? localErrors.PARLEY_ERR_STORAGE_LOCAL_CONFLICT({ key })
        : failed('writing an object', error)
    }
  }
}

/** Removes `dir` and its parents up to `top` while they are empty; stops at the first that is not. */
async function removeEmptyUpTo(dir: string, top: string): Promise<void> {
  for (let current = dir; ; current = path.dirname(current)) {
    try {
      await rmdir(current)
    } catch {
      return
    }
    if (current === top || path.dirname(current) === current) return
  }
}

function uploadParts(key: string, expires: number, contentType: string, length: number): string[] {
  return ['PUT', key, String(expires), contentType, String(length)]
}

function downloadParts(key: string, expires: number): string[] {
  return ['GET', key, String(expires)]
}

function metaOf(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.meta.json`)
}

function isDigits(value: unknown): value is string {
  return typeof value === 'string' && /^\d{1,15}$/.test(value)
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR'
}

/** A file where a folder must go, or the other way round: `a` and `a/b` cannot both be objects here. */
function isConflict(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code
  return code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST' || code === 'ENOTEMPTY'
}

/** The system's error code only: the message would show paths to the client. */
function failed(what: string, error: unknown): ParleyError {
  const code = (error as NodeJS.ErrnoException).code ?? 'unknown error'
  return errors.PARLEY_ERR_STORAGE_FAILED({ reason: `${what} on local disk: ${code}` }, { cause: error })
}

/**
 * Copies `source` into a new file `temp`, refusing at once (without reading further) when more
 * than `length` bytes arrive, and at the end when fewer did. The source is paused, not
 * destroyed, on refusal, so the caller can still answer on its connection.
 */
function receiveInto(source: Readable, temp: string, length: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const out = createWriteStream(temp, { flags: 'wx', mode: 0o600 })
    let received = 0
    let ended = false
    let settled = false
    const detach = () => {
      source.off('data', onData)
      source.off('end', onEnd)
      source.off('error', onSourceError)
      source.off('close', onClose)
    }
    const fail = (error: unknown) => {
      if (settled) return
      settled = true
      detach()
      source.pause()
      // Wait for the file to be closed so that the caller's rm finds nothing open.
      out.once('close', () => reject(error))
      out.destroy()
    }
    const onData = (chunk: Buffer) => {
      received += chunk.length
      if (received > length) return fail(localErrors.PARLEY_ERR_STORAGE_LOCAL_TOO_LARGE({ length }))
      if (!out.write(chunk)) {
        source.pause()
        out.once('drain', () => {
          if (!settled) source.resume()
        })
      }
    }
    const onEnd = () => {
      ended = true
      if (received !== length) return fail(localErrors.PARLEY_ERR_STORAGE_LOCAL_LENGTH({ length, received }))
      detach()
      out.end()
      out.once('close', () => {
        if (settled) return
        settled = true
        resolve()
      })
    }
    const onSourceError = () => fail(localErrors.PARLEY_ERR_STORAGE_LOCAL_ABORTED())
    const onClose = () => {
      if (!ended) fail(localErrors.PARLEY_ERR_STORAGE_LOCAL_ABORTED())
    }
    out.once('error', error => fail(error))
    source.on('data', onData)
    source.once('end', onEnd)
    source.once('error', onSourceError)
    source.once('close', onClose)
    source.resume()
  })
}
