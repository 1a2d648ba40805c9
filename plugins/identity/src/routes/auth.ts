import { Type, UniqueConstraintViolationException } from '@parley/core'
import type { Identity } from '../context.js'
import { User } from '../entities.js'
import { identityErrors } from '../errors.js'
import { checkPasswordStrength, hashPassword, verifyPassword } from '../passwords.js'
import { assertAvailable, normaliseEmail, normaliseUsername, uniqueViolation, usernameKey } from '../users.js'
import { clearConsoleCookie, consoleCookie, setConsoleCookie } from '../console-session.js'
import { looksLikeJwt } from '../jwt.js'
import { ErrorResponses, TokenPairSchema } from './schemas.js'

const strict = { additionalProperties: false } as const

/** Register, login, refresh, logout and admin login (docs/identity.md). */
export function installAuthRoutes(identity: Identity): void {
  const { http } = identity

  http.post(
    '/api/auth/register',
    {
      schema: {
        tags: ['auth'],
        summary: 'Create an account and sign in',
        body: Type.Object(
          {
            email: Type.String({ maxLength: 320 }),
            username: Type.String({ maxLength: 200 }),
            password: Type.String({ maxLength: 1024 }),
            password_confirm: Type.String({ maxLength: 1024 }),
            /** For a challenge plugin (Turnstile, hCaptcha, ...); ignored when none is installed. */
            challenge_token: Type.Optional(Type.String({ maxLength: 4096 })),
          },
          strict,
        ),
        response: { 201: TokenPairSchema, ...ErrorResponses },
      },
    },
    async (request, reply) => {
      if (identity.settings.get('allow_registration') !== true)
        throw identityErrors.PARLEY_ERR_IDENTITY_REGISTRATION_CLOSED()
      const body = request.body
      const email = normaliseEmail(body.email)
      const { username, key } = normaliseUsername(body.username)
      if (body.password !== body.password_confirm) throw identityErrors.PARLEY_ERR_IDENTITY_PASSWORD_MISMATCH()
      await checkPasswordStrength(body.password, { email, username })
      const em = identity.em()
      await assertAvailable(em, { email, usernameKey: key })
      // Only a request that would create an account counts, and only once a challenge passed:
      // typos do not use up an address's quota, nor do bots that cannot solve the challenge.
      await identity.challenges.assert({ action: 'register', token: body.challenge_token, ip: request.ip })
      const perHour = identity.registerPerHour.get()
      await identity.registrationLimit.take(request.ip, perHour)
      // The Realms habit: with the setting on, the first account to register while no root or
      // admin exists becomes root (bootstrap then creates none unless ADMIN_PASSWORD is set).
      const first =
        identity.firstUserBecomesRoot.get() && (await em.count(User, { role: { $in: ['root', 'admin'] } })) === 0
      const user = em.create(User, {
        email,
        username,
        usernameKey: key,
        passwordHash: await hashPassword(body.password),
        role: first ? 'root' : 'user',
        groupName: identity.settings.get('default_group'),
        lastLoginAt: new Date(),
      })
      try {
        await em.flush()
      } catch (error) {
        await identity.registrationLimit.giveBack(request.ip, perHour)
        if (error instanceof UniqueConstraintViolationException) throw uniqueViolation(error)
        throw error
      }
      request.log.info({ user_id: user.id, role: user.role }, 'user registered')
      return reply.code(201).send(await identity.sessions.issue(em, user))
    },
  )

  http.post(
    '/api/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Sign in with email and password',
        body: Type.Object(
          { email: Type.String({ maxLength: 320 }), password: Type.String({ maxLength: 1024 }) },
          strict,
        ),
        response: { 200: TokenPairSchema, ...ErrorResponses },
      },
    },
    async request => {
      const email = normaliseEmail(request.body.email)
      await identity.throttle.check('login', email, request.ip)
      const em = identity.em()
      const user = await em.findOne(User, { email })
      // Both causes cost one password verification, so timing does not tell them apart either.
      const distinct = identity.distinctLoginErrors.get()
      if (!user) {
        await identity.shield.burn(request.body.password)
        await identity.throttle.fail('login', email, request.ip)
        throw distinct
          ? identityErrors.PARLEY_ERR_IDENTITY_EMAIL_NOT_FOUND()
          : identityErrors.PARLEY_ERR_IDENTITY_BAD_CREDENTIALS()
      }
      const verdict = await verifyPassword(user.passwordHash, request.body.password)
      if (!verdict.ok) {
        await identity.throttle.fail('login', email, request.ip)
        throw distinct
          ? identityErrors.PARLEY_ERR_IDENTITY_WRONG_PASSWORD()
          : identityErrors.PARLEY_ERR_IDENTITY_BAD_CREDENTIALS()
      }
      if (user.status !== 'active') throw identityErrors.PARLEY_ERR_IDENTITY_DISABLED()
      await identity.throttle.succeed('login', email, request.ip)
      if (verdict.rehash) user.passwordHash = await hashPassword(request.body.password)
      user.lastLoginAt = new Date()
      await em.flush()
      return identity.sessions.issue(em, user)
    },
  )

  http.post(
    '/api/auth/refresh',
    {
      schema: {
        tags: ['auth'],
        summary: 'Trade a refresh token for a new pair (the old one is revoked)',
        body: Type.Object({ refresh_token: Type.String({ minLength: 1, maxLength: 200 }) }, strict),
        response: { 200: TokenPairSchema, ...ErrorResponses },
      },
    },
    async request => {
      await identity.throttle.check('refresh', undefined, request.ip)
      try {
        return await identity.sessions.rotate(identity.em(), request.body.refresh_token)
      } catch (error) {
        await identity.throttle.fail('refresh', undefined, request.ip)
        throw error
      }
    },
  )

  http.post(
    '/api/auth/logout',
    {
      schema: {
        tags: ['auth'],
        summary: 'Revoke a refresh token',
        body: Type.Object({ refresh_token: Type.String({ minLength: 1, maxLength: 200 }) }, strict),
        response: { 204: Type.Null(), ...ErrorResponses },
      },
    },
    async (request, reply) => {
      await identity.sessions.revoke(identity.em(), request.body.refresh_token)
      return reply.code(204).send(null)
    },
  )

  http.post(
    '/api/auth/admin/login',
    {
      schema: {
        tags: ['auth'],
        summary:
          "Admin console sign-in: the token (valid 24 h) is answered and also set as the console's httpOnly cookie",
        body: Type.Object(
          { username: Type.String({ maxLength: 200 }), password: Type.String({ maxLength: 1024 }) },
          strict,
        ),
        response: {
          200: Type.Object({
            access_token: Type.String(),
            token_type: Type.Literal('bearer'),
            expires_in: Type.Integer(),
          }),
          ...ErrorResponses,
        },
      },
    },
    async (request, reply) => {
      const key = usernameKey(request.body.username)
      await identity.throttle.check('admin-login', key, request.ip)
      const em = identity.em()
      const user = await em.findOne(User, { usernameKey: key })
      let verdict = { ok: false, rehash: false }
      if (user) verdict = await verifyPassword(user.passwordHash, request.body.password)
      else await identity.shield.burn(request.body.password)
      // One message for every cause: the admin login has no enumeration requirement.
      if (!user || !verdict.ok || user.role === 'user' || user.status !== 'active') {
        await identity.throttle.fail('admin-login', key, request.ip)
        throw identityErrors.PARLEY_ERR_IDENTITY_ADMIN_CREDENTIALS()
      }
      await identity.throttle.succeed('admin-login', key, request.ip)
      if (verdict.rehash) user.passwordHash = await hashPassword(request.body.password)
      user.lastLoginAt = new Date()
      await em.flush()
      request.log.info({ user_id: user.id }, 'admin signed in')
      const token = await identity.accessTokens.sign(
        { sub: String(user.id), scope: 'admin', epoch: user.sessionEpoch },
        identity.adminTtlSeconds,
      )
      setConsoleCookie(request, reply, token, identity.adminTtlSeconds)
      return { access_token: token, token_type: 'bearer' as const, expires_in: identity.adminTtlSeconds }
    },
  )

  http.post(
    '/api/auth/admin/logout',
    {
      schema: {
        tags: ['auth'],
        summary:
          "Sign out of the admin console: the admin token (Bearer or the console's cookie) stops working on every instance, and the cookie is cleared",
        response: { 204: Type.Null(), ...ErrorResponses },
      },
    },
    async (request, reply) => {
      clearConsoleCookie(request, reply)
      // Both, when both are sent: whichever the console holds ends here.
      const bearer = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1]
      for (const token of new Set([bearer, consoleCookie(request)])) {
        if (token === undefined || !looksLikeJwt(token)) continue
        const claims = await identity.accessTokens.verify(token).catch(() => undefined)
        // An invalid or expired token is already no session; a portal token is not this route's.
        if (claims?.scope !== 'admin') continue
        await identity.principals.revocations.revoke(claims)
        request.log.info({ user_id: Number(claims.sub) }, 'admin signed out')
      }
      return reply.code(204).send(null)
    },
  )
}
