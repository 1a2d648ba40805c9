import { requireRole, Type } from '@parley/core'
import type { Identity } from '../context.js'
import { User } from '../entities.js'
import { identityErrors } from '../errors.js'
import { checkPasswordStrength, hashPassword } from '../passwords.js'
import { endSessions } from '../session-end.js'
import { toAdminUser } from './admin-users.js'
import { adminOnly, AdminUserSchema, security, strict } from './admin-schemas.js'
import { ErrorResponses } from './schemas.js'

const IdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) })

/**
 * An admin sets a new password for a user who lost theirs (or whose account was taken over):
 * every session of that user ends on every instance, as after their own password change.
 */
export function installAdminPasswordRoutes(identity: Identity): void {
  identity.http.post(
    '/api/admin/users/:id/password',
    {
      onRequest: adminOnly,
      schema: {
        tags: ['admin'],
        summary: "Set a user's password; all their sessions end",
        security,
        params: IdParams,
        body: Type.Object({ password: Type.String({ maxLength: 1024 }) }, strict),
        response: { 200: AdminUserSchema, ...ErrorResponses },
      },
    },
    async request => {
      const caller = await requireRole(request, 'admin', 'root')
      const em = identity.em()
      const user = await em.findOne(User, { id: request.params.id })
      if (!user) throw identityErrors.PARLEY_ERR_IDENTITY_USER_NOT_FOUND()
      if (user.role === 'root' && caller.role !== 'root') throw identityErrors.PARLEY_ERR_IDENTITY_ROOT_ONLY()
      await checkPasswordStrength(request.body.password, { email: user.email, username: user.username })
      user.passwordHash = await hashPassword(request.body.password)
      await endSessions(identity, em, user)
      request.log.info({ user_id: user.id, by: caller.userId }, 'admin set a password; sessions revoked')
      return toAdminUser(user)
    },
  )
}
