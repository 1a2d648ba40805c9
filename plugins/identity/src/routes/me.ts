import {
  requireUser,
  Type,
  UniqueConstraintViolationException,
  type EntityManager,
  type FastifyRequest,
} from '@parley/core'
import type { Identity } from '../context.js'
import { consoleCredential, setConsoleCookie } from '../console-session.js'
import { endSessions } from '../session-end.js'
import { User } from '../entities.js'
import { identityErrors } from '../errors.js'
import { checkPasswordStrength, hashPassword, verifyPassword } from '../passwords.js'
import {
  assertAvailable,
  normaliseEmail,
  normaliseUsername,
  toPublicUser,
  uniqueViolation,
  type UserRow,
} from '../users.js'
import { ErrorResponses, PublicUserSchema, TokenPairSchema } from './schemas.js'

const strict = { additionalProperties: false } as const

/**
 * The signed-in user's own account. Bodies accept exactly the documented fields, so a request
 * that smuggles `role`, `group` or `password_hash` is refused and changes nothing.
 */
export function installMeRoutes(identity: Identity): void {
  const { http } = identity

  const currentUser = async (request: FastifyRequest): Promise<{ em: EntityManager; user: UserRow }> => {
    const principal = await requireUser(request)
    const em = identity.em()
    const user = await em.findOne(User, { id: Number(principal.userId) })
    if (!user) throw identityErrors.PARLEY_ERR_IDENTITY_TOKEN_INVALID()
    return { em, user }
  }
  const save = async ({ em, user }: { em: EntityManager; user: UserRow }) => {
    try {
      await em.flush()
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) throw uniqueViolation(error)
      throw error
    }
    await identity.principals.forgetUser(user.id)
    return toPublicUser(user)
  }

  http.get(
    '/api/users/me',
    {
      schema: {
        tags: ['users'],
        summary: 'The signed-in user',
        security: [{ bearer: [] }],
        response: { 200: PublicUserSchema, ...ErrorResponses },
      },
    },
    async request => toPublicUser((await currentUser(request)).user),
  )

  http.post(
    '/api/users/me/username',
    {
      schema: {
        tags: ['users'],
        summary: 'Change the username',
        security: [{ bearer: [] }],
        body: Type.Object({ username: Type.String({ maxLength: 200 }) }, strict),
        response: { 200: PublicUserSchema, ...ErrorResponses },
      },
    },
    async request => {
      const current = await currentUser(request)
      const { username, key } = normaliseUsername(request.body.username)
      await assertAvailable(current.em, { usernameKey: key }, current.user.id)
      current.user.username = username
      current.user.usernameKey = key
      return save(current)
    },
  )

  http.post(
    '/api/users/me/email',
    {
      schema: {
        tags: ['users'],
        summary: 'Change the email address',
        security: [{ bearer: [] }],
        body: Type.Object({ email: Type.String({ maxLength: 320 }) }, strict),
        response: { 200: PublicUserSchema, ...ErrorResponses },
      },
    },
    async request => {
      const current = await currentUser(request)
      const email = normaliseEmail(request.body.email)
      await assertAvailable(current.em, { email }, current.user.id)
      current.user.email = email
      return save(current)
    },
  )

  http.post(
    '/api/users/me/password',
    {
      schema: {
        tags: ['users'],
        summary: 'Change the password; every other session ends and a new pair is returned',
        security: [{ bearer: [] }],
        body: Type.Object(
          {
            current_password: Type.String({ maxLength: 1024 }),
            password: Type.String({ maxLength: 1024 }),
            password_confirm: Type.String({ maxLength: 1024 }),
          },
          strict,
        ),
        response: { 200: TokenPairSchema, ...ErrorResponses },
      },
    },
    async (request, reply) => {
      const { em, user } = await currentUser(request)
      const body = request.body
      await identity.throttle.check('password', String(user.id), request.ip)
      if (!(await verifyPassword(user.passwordHash, body.current_password)).ok) {
        await identity.throttle.fail('password', String(user.id), request.ip)
        throw identityErrors.PARLEY_ERR_IDENTITY_CURRENT_PASSWORD()
      }
      if (body.password !== body.password_confirm) throw identityErrors.PARLEY_ERR_IDENTITY_PASSWORD_MISMATCH()
      await checkPasswordStrength(body.password, { email: user.email, username: user.username })
      user.passwordHash = await hashPassword(body.password)
      // Every access token signed so far (portal and admin console) carries the old epoch.
      await endSessions(identity, em, user)
      request.log.info({ user_id: user.id }, 'password changed; sessions revoked')
      // Changed in the console: its cookie gets a token of the new epoch, so it stays signed in.
      if (user.role !== 'user' && request.headers.authorization === undefined && consoleCredential(request)) {
        const token = await identity.accessTokens.sign(
          { sub: String(user.id), scope: 'admin', epoch: user.sessionEpoch },
          identity.adminTtlSeconds,
        )
        setConsoleCookie(request, reply, token, identity.adminTtlSeconds)
      }
      return identity.sessions.issue(em, user)
    },
  )
}
