import { errors as joseErrors, jwtVerify, SignJWT } from 'jose'
import { identityErrors } from './errors.js'

const ALGORITHM = 'HS256'
const ISSUER = 'parley'
/** Distinguishes our access tokens from any other HS256 token signed with the same key. */
const AUDIENCE = 'parley-api'

export interface AccessClaims {
  /** User id. */
  readonly sub: string
  /** `session` for portal sign-ins, `admin` for the 24 h admin console token. */
  readonly scope: 'session' | 'admin'
}

/**
 * HS256 access tokens. The algorithm is pinned on verify, so `alg: none` or an RS256 token
 * forged with the secret as a "public key" is refused before any claim is read.
 */
export class AccessTokens {
  readonly #key: Uint8Array

  constructor(secret: string) {
    this.#key = new TextEncoder().encode(secret)
  }

  sign(claims: AccessClaims, ttlSeconds: number): Promise<string> {
    return new SignJWT({ scope: claims.scope })
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
      .setSubject(claims.sub)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .sign(this.#key)
  }

  async verify(token: string): Promise<AccessClaims> {
    try {
      const { payload } = await jwtVerify(token, this.#key, { algorithms: [ALGORITHM], issuer: ISSUER, audience: AUDIENCE })
      const scope = payload.scope
      if (typeof payload.sub !== 'string' || (scope !== 'session' && scope !== 'admin')) {
        throw identityErrors.PARLEY_ERR_IDENTITY_TOKEN_INVALID()
      }
      return { sub: payload.sub, scope }
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw identityErrors.PARLEY_ERR_IDENTITY_TOKEN_EXPIRED()
      throw identityErrors.PARLEY_ERR_IDENTITY_TOKEN_INVALID()
    }
  }
}

/** A string that looks like a JWT at all (three base64url parts); anything else is not ours to verify. */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token)
}
