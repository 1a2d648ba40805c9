/**
 * Object storage for uploads (images and files attached to conversations): local disk behind
 * URLs the gateway signs and serves itself, or an S3-compatible bucket (AWS S3, Tencent COS,
 * MinIO, ...) behind presigned URLs that browsers use directly.
 *
 * Keys are relative paths such as `u/42/c/7f3a/images/0b8e.png`; every driver checks them with
 * `checkStorageKey` (see `keys.ts`) and refuses anything else with `PARLEY_ERR_STORAGE_KEY`.
 *
 * Uploads are bound to one exact size: the signature covers `Content-Length` (and
 * `Content-Type`), so a body of any other size or type is refused by whoever checks the
 * signature (the bucket, or the gateway for the local driver). The caller (the upload API)
 * compares the size the browser announces with its own limit before asking for a URL.
 */

/** What `presignPut` binds into the URL's signature. */
export interface PresignPutOptions {
  /**
   * The media type the upload must carry as `Content-Type`, exactly (`image/png`); anything
   * else is refused. Lower case `type/subtype`, no parameters.
   */
  readonly contentType: string
  /**
   * The upload's exact size in bytes, as the client will send it in `Content-Length` (a
   * browser's `fetch` sets it from the `File`). A larger or smaller body is refused.
   */
  readonly contentLength: number
  /** How long the URL works: 1 s to 7 days (S3's own limit). */
  readonly expiresInSeconds: number
}

/** How the client uploads: send `body` to `url` with `method` and exactly these `headers`. */
export interface PresignedUpload {
  /**
   * Absolute for buckets; for the local driver absolute when `site_base_url` is set, else a
   * path on the gateway (`/storage/local/...`) that a page resolves against its own origin.
   */
  readonly url: string
  /**
   * `PUT` for both shipped drivers: the body is the file itself. `POST` is for a driver whose
   * service can only bind a size through a form policy; the client then sends
   * `multipart/form-data` with `fields` first and the file last, as `file`.
   */
  readonly method: 'PUT' | 'POST'
  /** Headers to send as given (`content-type`). `Content-Length` comes from the body itself. */
  readonly headers: Readonly<Record<string, string>>
  /** Form fields of a `POST` upload; absent for `PUT`. */
  readonly fields?: Readonly<Record<string, string>>
  readonly expiresAt: Date
}

export interface PresignedDownload {
  readonly url: string
  readonly expiresAt: Date
}

/** What a driver knows about a stored object without reading it. */
export interface StoredObjectInfo {
  readonly contentType: string
  readonly size: number
}

export interface StoredObject extends StoredObjectInfo {
  /** The bytes, read as they are needed; read it to the end or the connection (S3) stays open. */
  readonly body: AsyncIterable<Uint8Array>
}

/**
 * A storage driver, registered by its plugin with `ctx.storage.register(name, driver)`. The
 * config key `storage.driver` chooses the active one, which other plugins resolve as
 * `TOKENS.storage` (the plugin setup may resolve it; its methods work once setup is over).
 *
 * Every method that takes a key rejects a bad one with `PARLEY_ERR_STORAGE_KEY` (400) before
 * touching the backend; a backend failure is `PARLEY_ERR_STORAGE_FAILED` (502).
 *
 * @example
 * // An upload API: the browser announced a 48,213-byte PNG.
 * const storage = ctx.container.resolve<ObjectStorage>(TOKENS.storage)
 * const key = `u/${user.id}/images/${randomUUID()}.png`
 * const upload = await storage.presignPut(key, { contentType: 'image/png', contentLength: 48_213, expiresInSeconds: 300 })
 * // The browser: await fetch(upload.url, { method: upload.method, headers: upload.headers, body: file })
 * const info = await storage.head(key)                 // undefined until the upload arrived
 * const view = await storage.presignGet(key, { expiresInSeconds: 600 })   // <img src={view.url}>
 * await storage.delete(key)
 */
export interface ObjectStorage {
  /** A signed URL that accepts one upload of exactly `contentLength` bytes of `contentType`. */
  presignPut(key: string, options: PresignPutOptions): Promise<PresignedUpload>
  /** A signed URL that downloads the object until it expires. */
  presignGet(key: string, options: { readonly expiresInSeconds: number }): Promise<PresignedDownload>
  /** Stores an object written by the server itself (no URL involved). Replaces an existing one. */
  put(key: string, body: Uint8Array, options: { readonly contentType: string }): Promise<void>
  /** The object, streamed; `undefined` when there is none. */
  get(key: string): Promise<StoredObject | undefined>
  /** Type and size without the bytes; `undefined` when there is none (an upload not yet done). */
  head(key: string): Promise<StoredObjectInfo | undefined>
  /** Removes the object; removing one that is not there is not an error. */
  delete(key: string): Promise<void>
  /**
   * Writes, reads back and deletes a probe object: resolves when the backend is reachable and
   * the credentials may do all three, rejects with what went wrong. `/readyz` and
   * `parley doctor` call it.
   */
  ping(): Promise<void>
  /** One line for `parley doctor` and logs: where objects go (never credentials). */
  describe(): string
}
