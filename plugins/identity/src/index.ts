import { definePlugin, deleteInBatches, Type } from '@parley/core'
import { ApiTokens } from './api-tokens.js'
import { bootstrapAdmin } from './bootstrap.js'
import { Challenges, IDENTITY_CHALLENGES, type IdentityChallenges } from './challenges.js'
export { GUEST_PASS_HEADER } from './guest-pass.js'
import { createAdminCommand } from './cli.js'
import { GuestPasses } from './guest-pass.js'
import type { Identity } from './context.js'
import { identityEntities, PasswordReset, RefreshToken } from './entities.js'
import { IDENTITY_GROUPS, identityGroups, type IdentityGroups } from './groups.js'
import { AccessTokens } from './jwt.js'
import { mailTransportOf } from './mail.js'
import { PasswordResets } from './password-resets.js'
import { identityMigrations } from './migrations/index.js'
import { TimingShield } from './passwords.js'
import { Principals } from './principals.js'
import { RegistrationLimit } from './register-limit.js'
import { installAdminRoutes } from './routes/admin.js'
import { installAuthRoutes } from './routes/auth.js'
import { installGuestPassRoute } from './routes/guest-pass.js'
import { installMeRoutes } from './routes/me.js'
import { installPasswordResetRoutes } from './routes/password-reset.js'
import { installTokenRoutes } from './routes/tokens.js'
import { Sessions } from './sessions.js'
import { Throttle } from './throttle.js'
import { rekeyUsernames } from './username-keys.js'

export { principalOf, requireRole, requireUser } from '@parley/core'
export { identityErrors } from './errors.js'
export { API_TOKEN_PREFIX, isWellFormedApiToken } from './api-token-format.js'
export { IDENTITY_GROUPS, type IdentityGroups } from './groups.js'
export {
  IDENTITY_CHALLENGES,
  type ChallengeInput,
  type ChallengeVerifier,
  type IdentityChallenges,
} from './challenges.js'

const Options = Type.Object({
  /** Lifetime of portal access tokens: short, so a stolen one is worth little. */
  access_ttl_seconds: Type.Integer({ minimum: 60, maximum: 86_400, default: 900 }),
  /** Lifetime of the admin console token (24 h: a console session lasts a working day). */
  admin_ttl_seconds: Type.Integer({ minimum: 300, maximum: 7 * 86_400, default: 86_400 }),
  refresh_ttl_days: Type.Integer({ minimum: 1, maximum: 365, default: 30 }),
  /** Failed sign-ins for one account from one address (IPv6: /64) within the window before 429. */
  login_max_failures_per_account_and_ip: Type.Integer({ minimum: 1, maximum: 1000, default: 5 }),
  /** Failed sign-ins per client address across accounts within the window (offices share an IP: keep it generous). */
  login_max_failures_per_ip: Type.Integer({ minimum: 1, maximum: 100_000, default: 50 }),
  /** Failed sign-ins for one account from all addresses; beyond it only addresses that signed in to it before may try. */
  login_max_failures_per_account: Type.Integer({ minimum: 1, maximum: 100_000, default: 100 }),
  throttle_window_seconds: Type.Integer({ minimum: 10, maximum: 86_400, default: 900 }),
  /** How long an address that signed in to an account stays known for it (exempt from the account-wide limit). */
  known_address_days: Type.Integer({ minimum: 1, maximum: 365, default: 30 }),
  /** Defaults of the two identity settings below; an admin may change them at runtime. */
  distinct_login_errors: Type.Boolean({ default: false }),
  first_user_becomes_root: Type.Boolean({ default: false }),
  register_per_hour: Type.Integer({ minimum: 0, maximum: 100_000, default: 5 }),
  /** How long a guest pass lasts (what a guest gets for solving a challenge, when a challenge plugin is installed). */
  guest_pass_ttl_seconds: Type.Integer({ minimum: 60, maximum: 86_400, default: 3_600 }),
  /**
   * Mail for password reset links; off until both are set. `smtp_url` (else the SMTP_URL
   * environment variable, the better place for its password): `smtp://user:pass@host:587`.
   */
  mail: Type.Optional(
    Type.Object(
      {
        smtp_url: Type.Optional(Type.String({ pattern: '^smtps?://', maxLength: 2048 })),
        from: Type.Optional(Type.String({ minLength: 3, maxLength: 320 })),
      },
      { additionalProperties: false },
    ),
  ),
  /** How long a reset link works. */
  password_reset_ttl_minutes: Type.Integer({ minimum: 5, maximum: 1_440, default: 30 }),
  /** Reset mails one address (IPv6: its /64) may ask for per hour. */
  password_reset_max_per_address: Type.Integer({ minimum: 1, maximum: 10_000, default: 5 }),
  /** Reset mails one email may be asked for per hour, from all addresses together. */
  password_reset_max_per_account: Type.Integer({ minimum: 1, maximum: 1_000, default: 3 }),
})

/** Users, groups, sessions, API tokens and the admin bootstrap (docs/identity.md). */
export default definePlugin({
  id: 'identity',
  version: '0.1.0',
  core: '^0.1.0',
  description: 'Users, groups, JWT sessions with refresh rotation, API tokens, admin bootstrap',
  options: Options,
  setup(ctx) {
    ctx.db.entities(identityEntities)
    ctx.db.migrations(identityMigrations)
    const distinctLoginErrors = ctx.settings.define({
      key: 'distinct_login_errors',
      schema: Type.Boolean(),
      default: ctx.options.distinct_login_errors,
      description:
        'Say whether the email or the password was wrong at sign-in (tells anyone which emails are registered)',
      public: false,
    })
    const firstUserBecomesRoot = ctx.settings.define({
      key: 'first_user_becomes_root',
      schema: Type.Boolean(),
      default: ctx.options.first_user_becomes_root,
      description: 'The first account registered becomes root (Realms habit; dangerous on a public host)',
      public: false,
    })

    const registerPerHour = ctx.settings.define({
      key: 'register_per_hour',
      schema: Type.Integer({ minimum: 0, maximum: 100_000 }),
      default: ctx.options.register_per_hour,
      description: 'Accounts that one address (an IPv6 /64) may register per hour; 0 for no limit',
    })
    // A challenge plugin (Turnstile, hCaptcha, ...) that requires identity adds its verifier here.
    const challenges = new Challenges()
    ctx.provide<IdentityChallenges>(IDENTITY_CHALLENGES, challenges)

    const accessTokens = new AccessTokens(ctx.secrets.secretKey)
    const em = () => ctx.db.em()
    ctx.provide<IdentityGroups>(IDENTITY_GROUPS, identityGroups(em))
    const guestPasses = new GuestPasses(ctx.secrets.secretKey, ctx.options.guest_pass_ttl_seconds)
    const principals = new Principals(
      em,
      accessTokens,
      ctx.kv,
      ctx.log,
      () => ({ allowed: ctx.settings.get('allow_guest') === true, group: ctx.settings.get('default_group') }),
      () => ctx.auth.list().length > 1,
      { required: () => challenges.active, valid: (pass, ip) => guestPasses.valid(pass, ip) },
    )
    const mail = mailTransportOf(ctx.options.mail)
    const identity: Identity = {
      http: ctx.http,
      log: ctx.log,
      em,
      accessTokens,
      sessions: new Sessions(accessTokens, {
        accessTtlSeconds: ctx.options.access_ttl_seconds,
        refreshTtlDays: ctx.options.refresh_ttl_days,
      }),
      apiTokens: new ApiTokens(principals),
      principals,
      throttle: new Throttle(ctx.kv, {
        maxPerAccountAndIp: ctx.options.login_max_failures_per_account_and_ip,
        maxPerIp: ctx.options.login_max_failures_per_ip,
        maxPerAccount: ctx.options.login_max_failures_per_account,
        windowSeconds: ctx.options.throttle_window_seconds,
        knownAddressDays: ctx.options.known_address_days,
      }),
      shield: new TimingShield(),
      settings: ctx.settings,
      distinctLoginErrors,
      firstUserBecomesRoot,
      registerPerHour,
      registrationLimit: new RegistrationLimit(ctx.kv, ctx.log),
      challenges,
      guestPasses,
      adminTtlSeconds: ctx.options.admin_ttl_seconds,
      passwordResets: new PasswordResets(
        em,
        ctx.kv,
        ctx.log,
        mail,
        () => ({ name: ctx.settings.get('site_name'), baseUrl: ctx.settings.get('site_base_url') }),
        {
          ttlMinutes: ctx.options.password_reset_ttl_minutes,
          maxPerAddress: ctx.options.password_reset_max_per_address,
          maxPerAccount: ctx.options.password_reset_max_per_account,
        },
      ),
    }

    ctx.auth.register('identity', principals.strategy)
    ctx.commands.register('create-admin', createAdminCommand())
    // Kept for log_retention_days after expiry (revoked ones too): a replayed stolen token
    // still revokes its family until then. Indexed by expires_at.
    ctx.retention.register('expired-refresh-tokens', {
      prune: context =>
        deleteInBatches(
          em,
          { entity: RefreshToken, where: { expiresAt: { $lt: context.before } }, orderBy: { expiresAt: 'asc' } },
          context,
        ),
    })
    installAuthRoutes(identity)
    installGuestPassRoute(identity)
    installMeRoutes(identity)
    installPasswordResetRoutes(identity)
    installTokenRoutes(identity)
    installAdminRoutes(identity)

    ctx.onStart(async () => {
      await principals.start()
      await rekeyUsernames(em(), ctx.db.dialect, ctx.log)
      const spec = { username: ctx.config.admin.username ?? 'admin', password: ctx.config.admin.password }
      if (firstUserBecomesRoot.get() && spec.password === undefined) {
        ctx.log.info(
          'first_user_becomes_root is on and ADMIN_PASSWORD is unset: the first account to register becomes root',
        )
      } else {
        await bootstrapAdmin(em(), spec, ctx.log, text => process.stderr.write(text))
      }
    })
    ctx.retention.register('expired-password-resets', {
      prune: context =>
        deleteInBatches(
          em,
          { entity: PasswordReset, where: { expiresAt: { $lt: context.before } }, orderBy: { expiresAt: 'asc' } },
          context,
        ),
    })
    ctx.onStop(async () => {
      await identity.passwordResets.settle()
      mail?.close()
      await principals.stop()
    })
  },
})
