import { languageOf, Type } from '@parley/core'
import type { Identity } from '../context.js'
import { User } from '../entities.js'
import { identityErrors } from '../errors.js'
import { checkPasswordStrength, hashPassword } from '../passwords.js'
import { RESET_TOKEN_PATTERN } from '../password-resets.js'
import { endSessions } from '../session-end.js'
import { normaliseEmail } from '../users.js'
import { ErrorResponses } from './schemas.js'

const strict = { additionalProperties: false } as const

/**
 * Forgotten passwords (docs/identity.md, Password reset by mail): ask for a link by email, then
 * set a new password with the link's secret. Every session of the account ends.
 */
export function installPasswordResetRoutes(identity: Identity): void {
  const { http, passwordResets } = identity

  http.post(
    '/api/auth/password/forgot',
    {
      schema: {
        tags: ['auth'],
        summary: 'Mail a password reset link; the same answer whether the email is registered or not',
        body: Type.Object({ email: Type.String({ maxLength: 320 }) }, strict),
        response: { 204: Type.Null(), ...ErrorResponses },
      },
    },
    async (request, reply) => {
      const email = normaliseEmail(request.body.email)
      await passwordResets.request(email, request.ip, languageOf(request.headers['accept-language']))
      return reply.code(204).send(null)
    },
  )

  http.post(
    '/api/auth/password/reset',
    {
      schema: {
        tags: ['auth'],
        summary: "Set a new password with a reset link's secret; every session of the account ends",
        body: Type.Object(
          {
            token: Type.String({ maxLength: 64 }),
            password: Type.String({ maxLength: 1024 }),
            password_confirm: Type.String({ maxLength: 1024 }),
          },
          strict,
        ),
        response: { 204: Type.Null(), ...ErrorResponses },
      },
    },
    async (request, reply) => {
      const body = request.body
      await identity.throttle.check('reset', undefined, request.ip)
      const em = identity.em()
      if (!new RegExp(RESET_TOKEN_PATTERN).test(body.token)) return refuse()
      let link: { id: number; userId: number }
      try {
        link = await passwordResets.find(em, body.token)
      } catch (error) {
        await identity.throttle.fail('reset', undefined, request.ip)
        throw error
      }
      const user = await em.findOne(User, { id: link.userId })
      if (!user || user.status !== 'active') throw identityErrors.PARLEY_ERR_IDENTITY_RESET_INVALID()
      if (body.password !== body.password_confirm) throw identityErrors.PARLEY_ERR_IDENTITY_PASSWORD_MISMATCH()
      // Checked before the link is used up: a refused password leaves it working.
      await checkPasswordStrength(body.password, { email: user.email, username: user.username })
      const passwordHash = await hashPassword(body.password)
      await passwordResets.claim(em, link)
      user.passwordHash = passwordHash
      await endSessions(identity, em, user)
      request.log.info({ user_id: user.id }, 'password reset by mail link; sessions revoked')
      return reply.code(204).send(null)

      async function refuse(): Promise<never> {
        await identity.throttle.fail('reset', undefined, request.ip)
        throw identityErrors.PARLEY_ERR_IDENTITY_RESET_INVALID()
      }
    },
  )
}
