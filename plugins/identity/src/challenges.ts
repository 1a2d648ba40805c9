import { identityErrors } from './errors.js'

/** What a challenge (Turnstile, hCaptcha, ...) is asked to verify. */
export interface ChallengeInput {
  /**
   * `register` (the token came with `POST /api/auth/register`) or `guest` (with
   * `POST /api/auth/guest-pass`, which buys a guest a pass for guest chat).
   */
  readonly action: 'register' | 'guest'
  /** The `challenge_token` the client sent, if any. */
  readonly token: string | undefined
  /** The client address, as the gateway sees it (after trust_proxy). */
  readonly ip: string
}

/**
 * A challenge plugin's verifier. Resolves true when the token proves what it should, false to
 * refuse the request with `400 challenge_failed`; a rejection (the provider is down) or taking
 * longer than the deadline answers `503 service_unavailable`.
 */
export interface ChallengeVerifier {
  verify(input: ChallengeInput): Promise<boolean>
}

/** The extension point, provided to plugins that list `identity` in `requires`. */
export interface IdentityChallenges {
  /** Adds a verifier; every verifier added must accept the request. */
  use(verifier: ChallengeVerifier): void
}

/**
 * The DI token of the challenge hook.
 *
 * @example
 * definePlugin({
 *   id: 'turnstile',
 *   version: '1.0.0',
 *   requires: ['identity'],
 *   setup(ctx) {
 *     ctx.container.resolve<IdentityChallenges>(IDENTITY_CHALLENGES).use({ verify: ({ token, ip }) => siteverify(token, ip) })
 *   },
 * })
 */
export const IDENTITY_CHALLENGES = Symbol.for('identity.challenges')

/** Deadline of one verification: a provider that hangs must not hang registration. */
const VERIFY_TIMEOUT_MS = 5_000

export class Challenges implements IdentityChallenges {
  readonly #verifiers: ChallengeVerifier[] = []

  /** Whether any verifier is installed (guest chat then asks for a guest pass). */
  get active(): boolean {
    return this.#verifiers.length > 0
  }

  use(verifier: ChallengeVerifier): void {
    this.#verifiers.push(verifier)
  }

  /** Passes when no verifier is installed or every one accepts; refuses (400) or fails (503) otherwise. */
  async assert(input: ChallengeInput): Promise<void> {
    for (const verifier of this.#verifiers) {
      let timer: NodeJS.Timeout | undefined
      let passed: boolean
      try {
        passed = await Promise.race([
          verifier.verify(input),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error('challenge verification timed out')), VERIFY_TIMEOUT_MS)
          }),
        ])
      } catch (error) {
        throw identityErrors.PARLEY_ERR_IDENTITY_CHALLENGE_DOWN({}, { cause: error })
      } finally {
        clearTimeout(timer)
      }
      if (passed !== true) throw identityErrors.PARLEY_ERR_IDENTITY_CHALLENGE_FAILED()
    }
  }
}
