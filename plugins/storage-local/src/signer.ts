import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto'

/** HKDF's context: a key for this purpose only, so a URL signature never serves as anything else. */
const INFO = 'parley storage-local url signature v1'
const SALT = 'parley'

/**
 * Signs and checks the local driver's URLs: HMAC-SHA256 with a key derived from the gateway's
 * SECRET_KEY by HKDF (own label), so no signature made here can be replayed as a JWT or the
 * other way round, and rotating SECRET_KEY voids every outstanding URL.
 */
export class UrlSigner {
  readonly #key: Buffer

  constructor(secretKey: string) {
    this.#key = Buffer.from(hkdfSync('sha256', secretKey, SALT, INFO, 32))
  }

  /** base64url of the HMAC of the parts joined by newlines (no part can hold a newline). */
  sign(parts: readonly string[]): string {
    return createHmac('sha256', this.#key).update(parts.join('\n')).digest('base64url')
  }

  /** Constant-time comparison; a signature of the wrong length is simply false. */
  verify(parts: readonly string[], signature: string): boolean {
    const expected = Buffer.from(this.sign(parts))
    const given = Buffer.from(signature)
    return given.length === expected.length && timingSafeEqual(given, expected)
  }
}
