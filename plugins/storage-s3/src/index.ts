import { definePlugin, errors, Type, type Static } from '@parley/core'
import { S3Storage, type S3StorageOptions } from './driver.js'

export { PROBE_PREFIX, S3Storage, type S3StorageOptions } from './driver.js'

/** The name under which the driver registers; `storage.driver: s3` chooses it. */
export const S3_DRIVER = 's3'

const Url = Type.String({
  pattern: '^https?://[^/?#\\s]+/?$',
  description: 'scheme and host, no path: https://s3.example.com',
})

const Options = Type.Object({
  /**
   * `cos`: Tencent COS through its S3-compatible API. The endpoint is
   * `https://cos.<region>.myqcloud.com`, the bucket `name-appid`, virtual-hosted style.
   */
  preset: Type.Optional(Type.Literal('cos')),
  /** The service's URL; omit for AWS S3 itself. */
  endpoint: Type.Optional(Url),
  /** The bucket's region (`us-east-1`, `ap-guangzhou`); S3-compatible servers often accept any. */
  region: Type.String({ minLength: 1, default: 'us-east-1', pattern: '^[a-z0-9-]+$' }),
  bucket: Type.String({ minLength: 3, maxLength: 63, pattern: '^[a-z0-9][a-z0-9.-]*[a-z0-9]$' }),
  /** Else S3_ACCESS_KEY_ID; else the AWS SDK's chain (AWS_ACCESS_KEY_ID, instance roles). */
  access_key_id: Type.Optional(Type.String({ minLength: 1 })),
  /** Else S3_SECRET_ACCESS_KEY. Never logged, never shown by doctor. */
  secret_access_key: Type.Optional(Type.String({ minLength: 1 })),
  /** `endpoint/bucket/key` instead of `bucket.endpoint/key`; MinIO and most self-hosted servers need it. */
  force_path_style: Type.Boolean({ default: false }),
  /** Put before every key, e.g. `parley/`: empty, or segments each ending with `/`. */
  key_prefix: Type.String({ default: '', maxLength: 200, pattern: '^([A-Za-z0-9_-][A-Za-z0-9._-]*/)*$' }),
  /** The endpoint browsers use when it differs from `endpoint` (an internal address for the gateway, a public name for browsers). */
  public_endpoint: Type.Optional(Url),
})

export type S3PluginOptions = Static<typeof Options>

/**
 * What the plugin options mean for the driver: the `cos` preset's endpoint and style, and
 * credentials from the options or the environment (both of a pair, or neither).
 */
export function driverOptions(
  options: S3PluginOptions,
  env: Readonly<Record<string, string | undefined>> = process.env,
): S3StorageOptions {
  const problem = (reason: string) => errors.PARLEY_ERR_STORAGE_OPTIONS({ reason: `storage-s3: ${reason}` })
  let endpoint = options.endpoint
  let forcePathStyle = options.force_path_style
  if (options.preset === 'cos') {
    if (options.region === 'us-east-1')
      throw problem("the cos preset needs the bucket's region, e.g. region: ap-guangzhou")
    if (!/^[a-z0-9-]+-\d+$/.test(options.bucket))
      throw problem(`a COS bucket is named name-appid (e.g. uploads-1250000000), not ${options.bucket}`)
    endpoint ??= `https://cos.${options.region}.myqcloud.com`
    // COS serves buckets as <bucket>.cos.<region>.myqcloud.com; path style is not offered.
    forcePathStyle = false
  }
  const accessKeyId = options.access_key_id ?? env.S3_ACCESS_KEY_ID
  const secretAccessKey = options.secret_access_key ?? env.S3_SECRET_ACCESS_KEY
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw problem(
      "give both access_key_id and secret_access_key (or S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY), or neither for the AWS SDK's own chain",
    )
  }
  return {
    ...(endpoint ? { endpoint: endpoint.replace(/\/$/, '') } : {}),
    region: options.region,
    bucket: options.bucket,
    ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey } } : {}),
    forcePathStyle,
    keyPrefix: options.key_prefix,
    ...(options.public_endpoint ? { publicEndpoint: options.public_endpoint.replace(/\/$/, '') } : {}),
  }
}

/**
 * Object storage in an S3-compatible bucket (AWS S3, Tencent COS, MinIO, Cloudflare R2, ...).
 * Browsers upload and download directly with presigned URLs; the bucket needs a CORS rule for
 * the site's origin (see docs/storage.md).
 */
export default definePlugin({
  id: 'storage-s3',
  version: '0.1.0',
  core: '^0.1.0',
  description: 'Uploads in an S3-compatible bucket (AWS S3, Tencent COS, MinIO) through presigned URLs',
  options: Options,
  setup(ctx) {
    const storage = new S3Storage(driverOptions(ctx.options as S3PluginOptions))
    ctx.storage.register(S3_DRIVER, storage)
    ctx.onStop(() => storage.close())
  },
})
