import { randomBytes, randomUUID } from 'node:crypto'
import type { Readable } from 'node:stream'
import type * as ClientS3 from '@aws-sdk/client-s3'
import type { GetObjectCommand, PutObjectCommand, S3Client, S3ClientConfig } from '@aws-sdk/client-s3'
import type { getSignedUrl } from '@aws-sdk/s3-request-presigner'
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

/** Keys of the objects `ping()` writes and deletes again (under the key prefix). */
export const PROBE_PREFIX = 'parley-probe/'
const FALLBACK_TYPE = 'application/octet-stream'
/** Connecting to the bucket; a health check has 2 s in all. */
const CONNECT_TIMEOUT_MS = 5_000
/** Silence on an open connection before the SDK gives up (a slow download keeps it busy). */
const SOCKET_TIMEOUT_MS = 30_000

type Sdk = typeof ClientS3 & { readonly getSignedUrl: typeof getSignedUrl }
let sdk: Promise<Sdk> | undefined

/**
 * The AWS SDK is about 18 MB of resident memory (bench/NOTES.md, "Memory at start"): it is
 * imported with the first operation, so a gateway that lists this plugin but stores its objects
 * elsewhere (`storage.driver`) never loads it.
 */
function loadSdk(): Promise<Sdk> {
  sdk ??= Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/s3-request-presigner')]).then(
    ([client, presigner]) => ({ ...client, getSignedUrl: presigner.getSignedUrl }),
  )
  return sdk
}

interface Clients {
  readonly sdk: Sdk
  readonly client: S3Client
  /** Signs for the endpoint browsers use; the same client unless `publicEndpoint` differs. */
  readonly presigner: S3Client
}

export interface S3StorageOptions {
  /** Omit for AWS S3 itself; otherwise the service's URL (`https://cos.ap-guangzhou.myqcloud.com`). */
  readonly endpoint?: string
  readonly region: string
  readonly bucket: string
  /** Omitted: the AWS SDK's own chain (AWS_* variables, shared files, instance roles). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string }
  /** `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key` (MinIO and most self-hosted servers). */
  readonly forcePathStyle: boolean
  /** Put before every key (`parley/`): one bucket shared with other uses. Empty or ends with `/`. */
  readonly keyPrefix: string
  /** The endpoint browsers reach when it differs from the gateway's (a private network address for the gateway, a public name for browsers). */
  readonly publicEndpoint?: string
  /** Milliseconds since the epoch; tests move time. */
  readonly now?: () => number
}

/**
 * Objects in an S3-compatible bucket. Browsers upload and download directly with presigned
 * URLs (SigV4, query-string form); the gateway only signs.
 *
 * Uploads are presigned PUTs whose signed headers include `Content-Length` and `Content-Type`
 * (`X-Amz-SignedHeaders=content-length;content-type;host`): the bucket recomputes the signature
 * from the headers that arrive, so a body of another size or type fails it. A presigned POST
 * with a `content-length-range` policy would allow a range instead of one size, but it needs a
 * multipart form on the client and a form policy on the server, which several S3-compatible
 * services and test servers check loosely or not at all; a signed header is checked wherever
 * SigV4 is, and the browser knows the file's exact size before it asks for a URL.
 *
 * Checksums are computed only where an operation requires them: the SDK's default (a CRC32
 * of the body) would otherwise sign a checksum of the empty body into every presigned upload,
 * and S3-compatible services that do not know the checksum headers refuse them.
 */
export class S3Storage implements ObjectStorage {
  readonly bucket: string
  readonly keyPrefix: string
  readonly #options: S3StorageOptions
  #clients: Promise<Clients> | undefined
  readonly #where: string
  readonly #now: () => number

  constructor(options: S3StorageOptions) {
    this.bucket = options.bucket
    this.keyPrefix = options.keyPrefix
    this.#options = options
    this.#now = options.now ?? Date.now
    const endpoint = options.endpoint ?? `AWS S3 (${options.region})`
    this.#where = `bucket ${options.bucket} at ${endpoint}${options.publicEndpoint ? ` (browsers: ${options.publicEndpoint})` : ''}${options.keyPrefix ? `, keys under ${options.keyPrefix}` : ''}`
  }

  async presignPut(key: string, options: PresignPutOptions): Promise<PresignedUpload> {
    const Key = this.#key(key)
    const { contentType, contentLength, expiresInSeconds } = checkPresignPut(options)
    const signingDate = this.#signingDate()
    const url = await this.#sign(
      sdk =>
        new sdk.PutObjectCommand({ Bucket: this.bucket, Key, ContentType: contentType, ContentLength: contentLength }),
      { expiresIn: expiresInSeconds, signingDate, signableHeaders: new Set(['content-type', 'content-length']) },
    )
    return {
      url,
      method: 'PUT',
      headers: { 'content-type': contentType },
      expiresAt: new Date(signingDate.getTime() + expiresInSeconds * 1000),
    }
  }

  async presignGet(key: string, options: { readonly expiresInSeconds: number }): Promise<PresignedDownload> {
    const Key = this.#key(key)
    const expiresIn = checkExpiry(options.expiresInSeconds)
    const signingDate = this.#signingDate()
    const url = await this.#sign(
      sdk => new sdk.GetObjectCommand({ Bucket: this.bucket, Key, ResponseCacheControl: 'private' }),
      { expiresIn, signingDate },
    )
    return { url, expiresAt: new Date(signingDate.getTime() + expiresIn * 1000) }
  }

  async put(key: string, body: Uint8Array, options: { readonly contentType: string }): Promise<void> {
    const Key = this.#key(key)
    const contentType = checkContentType(options.contentType)
    await this.#call('writing an object', ({ sdk, client }) =>
      client.send(
        new sdk.PutObjectCommand({
          Bucket: this.bucket,
          Key,
          Body: body,
          ContentType: contentType,
          ContentLength: body.length,
        }),
      ),
    )
  }

  async get(key: string): Promise<StoredObject | undefined> {
    const Key = this.#key(key)
    const answer = await this.#call(
      'reading an object',
      ({ sdk, client }) => client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key })),
      { missing: true },
    )
    if (!answer) return undefined
    return {
      contentType: answer.ContentType ?? FALLBACK_TYPE,
      size: answer.ContentLength ?? 0,
      // In Node the SDK's body is the response stream itself (an IncomingMessage).
      body: answer.Body as Readable,
    }
  }

  async head(key: string): Promise<StoredObjectInfo | undefined> {
    const Key = this.#key(key)
    const answer = await this.#call(
      'reading an object',
      ({ sdk, client }) => client.send(new sdk.HeadObjectCommand({ Bucket: this.bucket, Key })),
      { missing: true },
    )
    if (!answer) return undefined
    return { contentType: answer.ContentType ?? FALLBACK_TYPE, size: answer.ContentLength ?? 0 }
  }

  async delete(key: string): Promise<void> {
    const Key = this.#key(key)
    await this.#call(
      'deleting an object',
      ({ sdk, client }) => client.send(new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key })),
      { missing: true },
    )
  }

  async ping(): Promise<void> {
    const key = `${PROBE_PREFIX}${randomUUID()}`
    const probe = randomBytes(16)
    await this.put(key, probe, { contentType: FALLBACK_TYPE })
    try {
      const got = await this.get(key)
      if (!got)
        throw errors.PARLEY_ERR_STORAGE_FAILED({
          reason: `the probe object written to ${this.#where} cannot be read back`,
        })
      const chunks: Buffer[] = []
      for await (const chunk of got.body) chunks.push(Buffer.from(chunk))
      if (!Buffer.concat(chunks).equals(probe))
        throw errors.PARLEY_ERR_STORAGE_FAILED({
          reason: `the probe object read back from ${this.#where} differs from what was written`,
        })
    } finally {
      await this.delete(key)
    }
  }

  describe(): string {
    return this.#where
  }

  /** Closes the pooled connections (none when no operation ever ran). */
  close(): void {
    const clients = this.#clients
    this.#clients = undefined
    void clients?.then(
      ({ client, presigner }) => {
        client.destroy()
        if (presigner !== client) presigner.destroy()
      },
      () => undefined,
    )
  }

  /** The SDK and this bucket's clients, made with the first operation. */
  #open(): Promise<Clients> {
    this.#clients ??= loadSdk().then(sdk => {
      const options = this.#options
      const common: S3ClientConfig = {
        region: options.region,
        forcePathStyle: options.forcePathStyle,
        ...(options.credentials ? { credentials: { ...options.credentials } } : {}),
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS, socketTimeout: SOCKET_TIMEOUT_MS },
      }
      const client = new sdk.S3Client({ ...common, ...(options.endpoint ? { endpoint: options.endpoint } : {}) })
      const presigner = options.publicEndpoint
        ? new sdk.S3Client({ ...common, endpoint: options.publicEndpoint })
        : client
      return { sdk, client, presigner }
    })
    return this.#clients
  }

  #key(key: string): string {
    return this.keyPrefix + checkStorageKey(key)
  }

  /** Whole seconds: SigV4 dates have no fractions, so the expiry reported is the real one. */
  #signingDate(): Date {
    return new Date(Math.floor(this.#now() / 1000) * 1000)
  }

  async #sign(
    command: (sdk: Sdk) => PutObjectCommand | GetObjectCommand,
    options: Parameters<typeof getSignedUrl>[2],
  ): Promise<string> {
    try {
      const { sdk, presigner } = await this.#open()
      return await sdk.getSignedUrl(presigner, command(sdk), options)
    } catch (error) {
      throw errors.PARLEY_ERR_STORAGE_FAILED(
        { reason: `signing a URL for ${this.#where}: ${(error as Error).message}` },
        { cause: error },
      )
    }
  }

  /**
   * Runs one SDK call; with `missing`, "no such key" is `undefined` rather than an error (a
   * missing bucket stays an error). Anything else becomes PARLEY_ERR_STORAGE_FAILED naming the
   * bucket and S3's error code, never a credential.
   */
  async #call<T>(
    what: string,
    call: (clients: Clients) => Promise<T>,
    { missing = false } = {},
  ): Promise<T | undefined> {
    const clients = await this.#open()
    try {
      return await call(clients)
    } catch (error) {
      if (missing && isMissingKey(clients.sdk, error)) return undefined
      throw errors.PARLEY_ERR_STORAGE_FAILED(
        { reason: `${what} in ${this.#where}: ${explain(clients.sdk, error)}` },
        { cause: error },
      )
    }
  }
}

function isMissingKey(sdk: Sdk, error: unknown): boolean {
  if (!(error instanceof sdk.S3ServiceException)) return false
  if (error.name === 'NoSuchBucket') return false
  return error.name === 'NoSuchKey' || error.name === 'NotFound' || error.$metadata.httpStatusCode === 404
}

/** S3's error code with a hint for the ones an operator can fix. */
function explain(sdk: Sdk, error: unknown): string {
  if (error instanceof ParleyError) return error.message
  if (error instanceof sdk.S3ServiceException) {
    const status = error.$metadata.httpStatusCode
    const hint =
      HINTS[error.name] ??
      (status === 403 ? 'the credentials may not do this (check the key pair and its bucket policy)' : undefined)
    return `${error.name}${status ? ` (HTTP ${status})` : ''}${hint ? `: ${hint}` : ''}`
  }
  const code = (error as NodeJS.ErrnoException).code
  return code ? `${code}: ${(error as Error).message}` : (error as Error).message
}

const HINTS: Record<string, string> = {
  NoSuchBucket: 'the bucket does not exist (check bucket and region; a COS bucket is name-appid)',
  InvalidAccessKeyId: 'the access key id is unknown to the service',
  SignatureDoesNotMatch: 'the secret access key does not match the access key id',
  AccessDenied: 'the credentials may not do this (check the key pair and its bucket policy)',
  PermanentRedirect: 'the bucket is in another region than the one configured',
  AuthorizationHeaderMalformed: "the region configured is not the bucket's",
}
