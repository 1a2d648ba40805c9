import type { EntityManager, HttpScope, Logger, PluginSettings, Setting } from '@parley/core'
import type { ApiTokens } from './api-tokens.js'
import type { AccessTokens } from './jwt.js'
import type { Challenges } from './challenges.js'
import type { GuestPasses } from './guest-pass.js'
import type { PasswordResets } from './password-resets.js'
import type { TimingShield } from './passwords.js'
import type { Principals } from './principals.js'
import type { RegistrationLimit } from './register-limit.js'
import type { Sessions } from './sessions.js'
import type { Throttle } from './throttle.js'

/** What the identity routes share; built once in setup. */
export interface Identity {
  readonly http: HttpScope
  readonly log: Logger
  em(): EntityManager
  readonly accessTokens: AccessTokens
  readonly sessions: Sessions
  readonly apiTokens: ApiTokens
  readonly principals: Principals
  readonly throttle: Throttle
  readonly shield: TimingShield
  readonly settings: PluginSettings
  /** Off by default: login answers `invalid_credentials` for an unknown email and a wrong password alike. */
  readonly distinctLoginErrors: Setting<boolean>
  readonly firstUserBecomesRoot: Setting<boolean>
  readonly registerPerHour: Setting<number>
  readonly registrationLimit: RegistrationLimit
  readonly challenges: Challenges
  readonly guestPasses: GuestPasses
  readonly adminTtlSeconds: number
  readonly passwordResets: PasswordResets
}
