import { createHmac, timingSafeEqual } from 'node:crypto'

/** The header that carries a guest pass on guest chat requests. */
export const GUEST_PASS_HEADER = 'x-parley-guest-pass'

const PREFIX = 'gp1.'

/**
 * Guest passes: what a guest gets for solving a challenge once (`POST /api/auth/guest-pass`),
 * so that a challenge plugin (Turnstile, hCaptcha) guards guest chat without a challenge per
 * message (their tokens are single-use). A pass is `gp1.<expiry>.<signature>`: an HMAC of the
 * expiry and the client address under a key derived from the server secret, so every instance
 * checks it without shared state, and a pass copied to another address is worthless.
 */
export class GuestPasses {
  readonly #key: Buffer

  constructor(
    secretKey: string | Uint8Array,
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {
    this.#key = createHmac('sha256', secretKey).update('parley guest pass v1').digest()
  }

  issue(ip: string): { readonly pass: string; readonly expiresIn: number } {
    const expiry = Math.floor(this.now() / 1000) + this.ttlSeconds
    return { pass: `${PREFIX}${expiry}.${this.#sign(expiry, ip)}`, expiresIn: this.ttlSeconds }
  }

  /** Whether `pass` was issued to `ip` and has not expired. Anything malformed is simply not valid. */
  valid(pass: string | undefined, ip: string): boolean {
    if (pass === undefined || pass.length > 128 || !pass.startsWith(PREFIX)) return false
    const dot = pass.indexOf('.', PREFIX.length)
    if (dot < 0) return false
    const expiryText = pass.slice(PREFIX.length, dot)
    if (!/^\d{1,12}$/.test(expiryText)) return false
    const expiry = Number(expiryText)
    if (expiry * 1000 <= this.now()) return false
    const given = Buffer.from(pass.slice(dot + 1))
    const expected = Buffer.from(this.#sign(expiry, ip))
    return given.length === expected.length && timingSafeEqual(given, expected)
  }

  #sign(expiry: number, ip: string): string {
    return createHmac('sha256', this.#key).update(`${expiry}\n${ip}`).digest('base64url')
  }
}
