import { createHash, createHmac, timingSafeEqual } from 'node:crypto'

/*
 * The session exchange's signature (docs/widget.md): lowercase hex HMAC-SHA256, keyed with the
 * client secret's UTF-8 bytes, over
 *
 *   METHOD "\n" path "\n" timestamp "\n" nonce "\n" hex(sha256(raw body))
 */

/** Seconds a timestamp may be away from the gateway's clock, either way. */
export const SIGNATURE_WINDOW_SECONDS = 300
/** A nonce: 16 to 128 characters of `A-Z a-z 0-9 . _ -`. */
export const NONCE_PATTERN = /^[A-Za-z0-9._-]{16,128}$/
const HEX_SIGNATURE = /^[0-9a-f]{64}$/

export function signatureBase(method: string, path: string, timestamp: string, nonce: string, body: Buffer): string {
  const bodyHash = createHash('sha256').update(body).digest('hex')
  return `${method.toUpperCase()}\n${path}\n${timestamp}\n${nonce}\n${bodyHash}`
}

export function sign(secret: string, base: string): string {
  return createHmac('sha256', secret).update(base).digest('hex')
}

/** Whether `given` is the signature of `base` under `secret`, compared in constant time. */
export function signatureMatches(secret: string, base: string, given: string): boolean {
  if (!HEX_SIGNATURE.test(given)) return false
  return timingSafeEqual(Buffer.from(sign(secret, base), 'hex'), Buffer.from(given, 'hex'))
}

/** Whether a `X-Parley-Timestamp` (UNIX seconds, digits only) is inside the window around `nowMs`. */
export function timestampFresh(timestamp: string, nowMs: number): boolean {
  if (!/^\d{1,12}$/.test(timestamp)) return false
  return Math.abs(nowMs / 1000 - Number(timestamp)) <= SIGNATURE_WINDOW_SECONDS
}
