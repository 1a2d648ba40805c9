import { errors } from '../errors.js'
import type { PresignPutOptions } from './port.js'

/** Longest key, in characters (ASCII only, so bytes too); S3's own limit is 1,024 with the prefix. */
export const STORAGE_KEY_MAX_LENGTH = 512
/** Longest segment: a file name, with room left under 255 for a driver's temporary suffixes. */
export const STORAGE_SEGMENT_MAX_LENGTH = 200
/** Longest a presigned URL may work: 7 days, S3's (SigV4) limit. */
export const PRESIGN_MAX_SECONDS = 7 * 24 * 3600
/** Largest single upload: 5 GiB, S3's limit for one PUT. */
export const UPLOAD_MAX_BYTES = 5 * 1024 ** 3

/**
 * A segment starts with a letter, digit, `_` or `-`, then letters, digits, `.`, `_`, `-`. No
 * segment starts with a dot: that rules out `.` and `..`, and leaves dot-names to the drivers
 * (the local driver's temporary and metadata files can never be a key).
 */
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/
/** `type/subtype` in lower case, RFC 6838 characters, no parameters. */
const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/

/** Why `key` is not a storage key, or `undefined` when it is one. */
export function storageKeyProblem(key: unknown): string | undefined {
  if (typeof key !== 'string') return 'a key is a string'
  if (key.length === 0) return 'the key is empty'
  if (key.length > STORAGE_KEY_MAX_LENGTH) return `a key has at most ${STORAGE_KEY_MAX_LENGTH} characters`
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) return 'a key has no control characters'
  if (key.includes('\\')) return 'a key has no backslash'
  if (key.startsWith('/')) return 'a key is relative: no leading /'
  if (key.endsWith('/')) return 'a key names an object, not a folder: no trailing /'
  for (const segment of key.split('/')) {
    if (segment === '') return 'a key has no empty segment (//)'
    if (segment === '.' || segment === '..') return 'a key has no . or .. segment'
    if (segment.startsWith('.')) return 'no segment of a key starts with a dot'
    if (segment.length > STORAGE_SEGMENT_MAX_LENGTH)
      return `a segment of a key has at most ${STORAGE_SEGMENT_MAX_LENGTH} characters`
    if (!SEGMENT.test(segment)) return 'a key uses only A-Z, a-z, 0-9, ".", "_", "-" and "/" between segments'
  }
  return undefined
}

/**
 * Checks a storage key: the one rule every driver applies before touching its backend, so no
 * key can climb out of the local folder or name something unexpected in a bucket.
 *
 * @throws ParleyError `PARLEY_ERR_STORAGE_KEY` (400), naming the rule that was broken
 * @example
 * checkStorageKey('u/42/images/0b8e.png')   // returns the key
 * checkStorageKey('../secrets.json')        // throws PARLEY_ERR_STORAGE_KEY
 */
export function checkStorageKey(key: unknown): string {
  const problem = storageKeyProblem(key)
  if (problem !== undefined) throw errors.PARLEY_ERR_STORAGE_KEY({ key: printableKey(key), reason: problem })
  return key as string
}

/** The options of `presignPut`, checked alike by every driver. */
export function checkPresignPut(options: PresignPutOptions): PresignPutOptions {
  const { contentType, contentLength, expiresInSeconds } = options
  checkContentType(contentType)
  if (!Number.isSafeInteger(contentLength) || contentLength < 0 || contentLength > UPLOAD_MAX_BYTES) {
    throw errors.PARLEY_ERR_STORAGE_OPTIONS({
      reason: `contentLength must be a whole number of bytes from 0 to ${UPLOAD_MAX_BYTES}`,
    })
  }
  checkExpiry(expiresInSeconds)
  return options
}

/** `expiresInSeconds` of either presign: a whole number of seconds, 1 to 7 days. */
export function checkExpiry(expiresInSeconds: number): number {
  if (!Number.isSafeInteger(expiresInSeconds) || expiresInSeconds < 1 || expiresInSeconds > PRESIGN_MAX_SECONDS) {
    throw errors.PARLEY_ERR_STORAGE_OPTIONS({
      reason: `expiresInSeconds must be a whole number from 1 to ${PRESIGN_MAX_SECONDS} (7 days)`,
    })
  }
  return expiresInSeconds
}

/** The content type given to `put`: the same rule as for presigned uploads. */
export function checkContentType(contentType: string): string {
  if (typeof contentType !== 'string' || !MEDIA_TYPE.test(contentType)) {
    throw errors.PARLEY_ERR_STORAGE_OPTIONS({
      reason: `contentType ${printableKey(contentType)} is not a lower-case media type such as image/png (no parameters)`,
    })
  }
  return contentType
}

function printableKey(value: unknown): string {
  const text = JSON.stringify(typeof value === 'string' ? value : String(value)) ?? String(value)
  return text.length > 80 ? `${text.slice(0, 77)}..."` : text
}
