import { createPrivateKey, randomBytes, sign, type KeyObject } from 'node:crypto'
import type { OAuthApp } from './settings.js'

/** The JWT is spent at once on one exchange; ten minutes absorb clock skew, as Coze's sample does. */
const JWT_LIFETIME_SECONDS = 600

/** Parsed private keys by PEM text: parsing a key is slow and a channel signs many JWTs. */
const keys = new Map<string, KeyObject>()
const MAX_CACHED_KEYS = 64

/** The private key could not be used; the message names no part of it. */
export class PrivateKeyError extends Error {}

/**
 * The JWT of Coze's OAuth JWT flow: RS256, header `kid` = the app's public key id, claims `iss`
 * (app id), `aud` (API host), `iat`, `exp` and a fresh `jti` (Coze refuses a JWT seen before).
 * Signed with node:crypto, which reads PKCS#8 and PKCS#1 PEM alike.
 */
export function signAppJwt(app: OAuthApp, now = Date.now()): string {
  const iat = Math.floor(now / 1000)
  const header = { alg: 'RS256', typ: 'JWT', kid: app.keyId }
  const claims = {
    iss: app.appId,
    aud: app.audience,
    iat,
    exp: iat + JWT_LIFETIME_SECONDS,
    jti: randomBytes(24).toString('hex'),
  }
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`
  const signature = sign('sha256', Buffer.from(input), keyOf(app.privateKey))
  return `${input}.${signature.toString('base64url')}`
}

function keyOf(pem: string): KeyObject {
  let key = keys.get(pem)
  if (key) return key
  try {
    key = createPrivateKey(pem.includes('\\n') && !pem.includes('\n') ? pem.replaceAll('\\n', '\n') : pem)
  } catch {
    throw new PrivateKeyError('the OAuth private key is not a readable PEM private key')
  }
  if (key.asymmetricKeyType !== 'rsa')
    throw new PrivateKeyError('the OAuth private key is not an RSA key (Coze signs with RS256)')
  if (keys.size >= MAX_CACHED_KEYS) keys.delete(keys.keys().next().value as string)
  keys.set(pem, key)
  return key
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url')
}
