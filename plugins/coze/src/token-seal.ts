import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto'
import type { OAuthApp } from './settings.js'

const IV_BYTES = 12
const TAG_BYTES = 16

/**
 * Seals cached access tokens before they reach the KV store (Redis), so a dump of the cache
 * yields no usable Coze credential. The key is derived from ENCRYPTION_KEY, which every instance
 * of a deployment shares; a token that does not open (another key, altered) is a cache miss.
 */
export class TokenSeal {
  readonly #key: Buffer

  constructor(encryptionKey: Buffer) {
    this.#key = Buffer.from(hkdfSync('sha256', encryptionKey, Buffer.alloc(0), 'parley coze access-token cache v1', 32))
  }

  /** `context` (the cache key) is bound in, so a sealed token cannot be moved to another app. */
  seal(text: string, context: string): string {
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv).setAAD(Buffer.from(context))
    const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()])
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')
  }

  /** The sealed text, or undefined when it does not open here. */
  open(sealed: string, context: string): string | undefined {
    try {
      const bytes = Buffer.from(sealed, 'base64url')
      if (bytes.length < IV_BYTES + TAG_BYTES) return undefined
      const decipher = createDecipheriv('aes-256-gcm', this.#key, bytes.subarray(0, IV_BYTES)).setAAD(
        Buffer.from(context),
      )
      decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES))
      return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8')
    } catch {
      return undefined
    }
  }
}

const fingerprints = new WeakMap<OAuthApp, { readonly baseUrl: string; readonly id: string }>()

/**
 * Names one OAuth identity: the API base, the app, its key id and its private key. Channels that
 * share all four share a token; changing any of them (a rotated key) starts a new cache entry.
 * The private key goes into a SHA-256 digest only, which reveals nothing about it. Computed once
 * per channel snapshot, not per call.
 */
export function appFingerprint(baseUrl: string, app: OAuthApp): string {
  const known = fingerprints.get(app)
  if (known?.baseUrl === baseUrl) return known.id
  const id = createHash('sha256')
    .update([baseUrl, app.audience, app.appId, app.keyId, app.privateKey, String(app.durationSeconds)].join('\u0000'))
    .digest('base64url')
    .slice(0, 32)
  fingerprints.set(app, { baseUrl, id })
  return id
}
