import { randomUUID } from 'node:crypto'
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
  /**
   * The user's session epoch when the token was signed (claim `ver`): a password change
   * raises the epoch, which ends every token signed before it. Absent (older tokens): 0.
   */
  readonly epoch?: number
}

/** What a verified token says, with the claims that identify and bound this one token. */
export interface VerifiedClaims extends AccessClaims {
  readonly epoch: number
  /** Unique per token (claim `jti`); a signed-out admin token is listed under it until it expires. */
  readonly jti: string | undefined
  /** Expiry, in milliseconds since the epoch. */
  readonly expiresAt: number
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
    return new SignJWT({ scope: claims.scope, ver: claims.epoch ?? 0 })
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
      .setSubject(claims.sub)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .sign(this.#key)
  }

  async verify(token: string): Promise<VerifiedClaims> {
    try {
      const { payload } = await jwtVerify(token, this.#key, {
        algorithms: [ALGORITHM],
        issuer: ISSUER,
        audience: AUDIENCE,
        requiredClaims: ['exp'],
      })
      const scope = payload.scope
      if (typeof payload.sub !== 'string' || (scope !== 'session' && scope !== 'admin')) {
        throw identityErrors.PARLEY_ERR_IDENTITY_TOKEN_INVALID()
      }
      const epoch = payload.ver ?? 0
      if (
        typeof epoch !== 'number' ||
        !Number.isSafeInteger(epoch) ||
        (payload.jti !== undefined && typeof payload.jti !== 'string')
      ) {
        throw identityErrors.PARLEY_ERR_IDENTITY_TOKEN_INVALID()
      }
      return { sub: payload.sub, scope, epoch, jti: payload.jti, expiresAt: (payload.exp ?? 0) * 1000 }
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
