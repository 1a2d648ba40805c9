import { randomBytes } from 'node:crypto'
import type { EntityManager, KeyValueStore, Language, Logger } from '@parley/core'
import { networkOf } from './addresses.js'
import { sha256 } from './api-token-format.js'
import { PasswordReset, User } from './entities.js'
import { identityErrors } from './errors.js'
import type { MailTransport } from './mail.js'
import { resetMail } from './reset-mail.js'

const WINDOW_MS = 3_600_000
/** 32 random bytes, base64url: what a reset link carries after `#token=`. */
export const RESET_TOKEN_PATTERN = '^[A-Za-z0-9_-]{43}$'

export interface PasswordResetPolicy {
  readonly ttlMinutes: number
  /** Reset mails one address (an IPv6 /64) may ask for per hour, whatever the emails. */
  readonly maxPerAddress: number
  /** Reset mails one email may be asked for per hour, from all addresses. */
  readonly maxPerAccount: number
}

/**
 * Forgotten passwords: a link by mail with a single-use, expiring secret stored only as its
 * SHA-256. Asking answers the same whether the email is registered or not, and at the same
 * speed: the lookup and the mail happen after the answer.
 */
export class PasswordResets {
  readonly #sending = new Set<Promise<void>>()

  constructor(
    private readonly em: () => EntityManager,
    private readonly kv: KeyValueStore,
    private readonly log: Logger,
    private readonly mail: MailTransport | undefined,
    private readonly site: () => { name: string; baseUrl: string },
    private readonly policy: PasswordResetPolicy,
  ) {}

  /** Counts the request, then mails a link in the background when `email` has an active account. */
  async request(email: string, ip: string, language: Language): Promise<void> {
    const { baseUrl, name } = this.site()
    if (this.mail === undefined || baseUrl === '') throw identityErrors.PARLEY_ERR_IDENTITY_RESET_UNAVAILABLE()
    // The email's counter counts registered and unknown addresses alike: a 429 says nothing.
    await this.take(`identity:reset:ip:${networkOf(ip)}`, this.policy.maxPerAddress)
    await this.take(`identity:reset:account:${sha256(email).slice(0, 32)}`, this.policy.maxPerAccount)
    const sending = this.send(email, language, baseUrl, name).catch((error: unknown) =>
      this.log.warn({ err: error }, 'a password reset mail could not be sent'),
    )
    this.#sending.add(sending)
    void sending.finally(() => this.#sending.delete(sending))
  }

  /** The user a link is for, while it is valid (unknown, used and expired links are refused alike). */
  async find(em: EntityManager, token: string): Promise<{ id: number; userId: number }> {
    const row = await em.findOne(PasswordReset, { tokenHash: sha256(token) })
    if (!row || row.usedAt || row.expiresAt.getTime() <= Date.now())
      throw identityErrors.PARLEY_ERR_IDENTITY_RESET_INVALID()
    return { id: row.id, userId: row.userId }
  }

  /** Uses the link up, and every other link of its user; of two uses at once only one succeeds. */
  async claim(em: EntityManager, link: { id: number; userId: number }): Promise<void> {
    const now = new Date()
    const claimed = await em.nativeUpdate(PasswordReset, { id: link.id, usedAt: null }, { usedAt: now })
    if (claimed !== 1) throw identityErrors.PARLEY_ERR_IDENTITY_RESET_INVALID()
    await em.nativeUpdate(PasswordReset, { userId: link.userId, usedAt: null }, { usedAt: now })
  }

  /** Mails still being sent (the plugin waits for them when it stops). */
  async settle(): Promise<void> {
    await Promise.all(this.#sending)
  }

  private async send(email: string, language: Language, baseUrl: string, site: string): Promise<void> {
    const em = this.em()
    const user = await em.findOne(User, { email })
    if (!user || user.status !== 'active') return
    const token = randomBytes(32).toString('base64url')
    em.create(PasswordReset, {
      userId: user.id,
      tokenHash: sha256(token),
      expiresAt: new Date(Date.now() + this.policy.ttlMinutes * 60_000),
    })
    await em.flush()
    // In the fragment: browsers do not send it, so the secret reaches no server log.
    const link = `${baseUrl.replace(/\/+$/, '')}/reset-password#token=${token}`
    await this.mail?.send(
      resetMail(language, { to: user.email, username: user.username, site, link, minutes: this.policy.ttlMinutes }),
    )
    this.log.info({ user_id: user.id }, 'password reset mail sent')
  }

  private async take(key: string, limit: number): Promise<void> {
    let counted: { value: number; ttlMs: number }
    try {
      counted = await this.kv.increment(key, { ttlMs: WINDOW_MS })
    } catch {
      throw identityErrors.PARLEY_ERR_IDENTITY_COUNTERS_DOWN()
    }
    if (counted.value > limit) {
      const seconds = Math.max(1, Math.ceil(counted.ttlMs / 1000))
      throw identityErrors.PARLEY_ERR_IDENTITY_RESET_THROTTLED({ seconds }, { details: { retry_after: seconds } })
    }
  }
}
