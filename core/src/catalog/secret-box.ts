import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto'
import type { Secrets } from '../config/secrets.js'
import { errors } from '../errors.js'

/*
 * Secrets at rest (upstream API keys, secret provider settings) as compact strings:
 *
 *   v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>
 *
 * AES-256-GCM with a fresh 96-bit random nonce per seal. The key id names the ENCRYPTION_KEY
 * that sealed the value, so after a rotation old values still open with a previous key and the
 * re-encrypt command can find them. The caller's context (e.g. `channel-key:<row uid>`) and the
 * header are the associated data: a value copied to another row, or re-labelled with another
 * key id, fails to open instead of decrypting under the wrong identity.
 */

const VERSION = 'v1'
const NONCE_BYTES = 12
const TAG_BYTES = 16
const KEY_BYTES = 32
const KEY_ID = /^[0-9a-f]{8}$/
const PAYLOAD = /^[A-Za-z0-9_-]+$/
// A fixed label keeps the id a one-way function of the key that is useless for anything else.
const KEY_ID_LABEL = 'parley-key-id'

/**
 * Seals and opens secrets with the current ENCRYPTION_KEY; opens with previous keys too.
 *
 * @example
 * const box = SecretBox.fromSecrets(secrets)
 * const sealed = box.seal('sk-live-…', `channel-key:${uid}`)
 * box.open(sealed, `channel-key:${uid}`) // 'sk-live-…'
 * if (!box.isCurrent(sealed)) row.sealed = box.reseal(sealed, `channel-key:${uid}`)
 */
export class SecretBox {
  /** Short public id of the current key: the first 8 hex characters of HMAC-SHA256(key, label). */
  readonly keyId: string
  readonly #current: Buffer
  readonly #keys: ReadonlyMap<string, Buffer>

  constructor(current: Buffer, previous: readonly Buffer[] = []) {
    const keys = new Map<string, Buffer>()
    for (const key of [current, ...previous]) {
      if (key.length !== KEY_BYTES) {
        throw errors.PARLEY_ERR_CONFIG_SECRETS({ reason: `an encryption key must be ${KEY_BYTES} bytes` })
      }
      const id = keyIdOf(key)
      const known = keys.get(id)
      // The same key listed twice (current also left in ENCRYPTION_KEY_PREVIOUS) is harmless.
      if (known && !known.equals(key)) {
        throw errors.PARLEY_ERR_CONFIG_SECRETS({
          reason: `two configured encryption keys share key id ${id}; generate a new ENCRYPTION_KEY with: openssl rand -hex 32`,
        })
      }
      keys.set(id, Buffer.from(key))
    }
    this.keyId = keyIdOf(current)
    this.#current = keys.get(this.keyId) as Buffer
    this.#keys = keys
  }

  static fromSecrets(secrets: Secrets): SecretBox {
    return new SecretBox(secrets.encryptionKey, secrets.previousEncryptionKeys ?? [])
  }

  seal(plaintext: string, context: string): string {
    const nonce = randomBytes(NONCE_BYTES)
    const cipher = createCipheriv('aes-256-gcm', this.#current, nonce, { authTagLength: TAG_BYTES })
    cipher.setAAD(associatedData(this.keyId, context))
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
    const payload = Buffer.concat([nonce, body, cipher.getAuthTag()])
    return `${VERSION}.${this.keyId}.${payload.toString('base64url')}`
  }

  /** The plaintext; PARLEY_ERR_SECRET_UNREADABLE or PARLEY_ERR_SECRET_UNKNOWN_KEY otherwise. */
  open(sealed: string, context: string): string {
    const { keyId, payload } = parse(sealed)
    const key = this.#keys.get(keyId)
    if (!key) throw errors.PARLEY_ERR_SECRET_UNKNOWN_KEY({ keyId, current: this.keyId })
    const nonce = payload.subarray(0, NONCE_BYTES)
    const body = payload.subarray(NONCE_BYTES, payload.length - TAG_BYTES)
    const tag = payload.subarray(payload.length - TAG_BYTES)
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES })
      decipher.setAAD(associatedData(keyId, context))
      decipher.setAuthTag(tag)
      return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8')
    } catch {
      // The cipher's own error says nothing useful and must not become a cause that gets logged.
      throw errors.PARLEY_ERR_SECRET_UNREADABLE({ reason: 'it was sealed for another record, or altered' })
    }
  }

  /** Whether `sealed` names the current key (its integrity is checked only by `open`). */
  isCurrent(sealed: string): boolean {
    const [version, keyId] = sealed.split('.', 2)
    return version === VERSION && keyId === this.keyId
  }

  /** Opens with whichever configured key sealed it and seals again with the current key. */
  reseal(sealed: string, context: string): string {
    return this.seal(this.open(sealed, context), context)
  }
}

/**
 * A hint that tells keys apart without revealing them: `sk-…abcd` (a short prefix when the
 * secret starts with one such as `sk-`, then the last 4), or `…cd` for secrets under 12 characters.
 */
export function maskSecret(secret: string): string {
  const chars = [...secret] // code points, so a hint never splits a character in two
  if (chars.length < 12) return `…${chars.slice(-2).join('')}`
  const prefix = /^[A-Za-z]{1,3}[-_]/.exec(secret)?.[0] ?? ''
  return `${prefix}…${chars.slice(-4).join('')}`
}

function keyIdOf(key: Buffer): string {
  return createHmac('sha256', key).update(KEY_ID_LABEL).digest('hex').slice(0, 8)
}

function associatedData(keyId: string, context: string): Buffer {
  // The NUL cannot occur in the header, so header and context cannot be shifted into each other.
  return Buffer.from(`${VERSION}.${keyId}\u0000${context}`, 'utf8')
}

function parse(sealed: string): { keyId: string; payload: Buffer } {
  const parts = sealed.split('.')
  if (parts[0] !== VERSION) throw unreadable('its format version is not supported')
  const [, keyId, encoded, extra] = parts
  if (
    keyId === undefined ||
    encoded === undefined ||
    extra !== undefined ||
    !KEY_ID.test(keyId) ||
    !PAYLOAD.test(encoded)
  ) {
    throw unreadable('it is malformed')
  }
  const payload = Buffer.from(encoded, 'base64url')
  // Node decodes leniently; only the canonical encoding is accepted, so no two strings open alike.
  if (payload.toString('base64url') !== encoded || payload.length < NONCE_BYTES + TAG_BYTES) {
    throw unreadable('it is truncated or malformed')
  }
  return { keyId, payload }
}

function unreadable(reason: string) {
  return errors.PARLEY_ERR_SECRET_UNREADABLE({ reason })
}
