import { Type } from '@parley/core'
import type { Identity } from '../context.js'
import { identityErrors } from '../errors.js'
import { ErrorResponses } from './schemas.js'

/**
 * `POST /api/auth/guest-pass`: a guest trades a solved challenge for a pass that guest chat
 * asks for while a challenge plugin is installed (docs/identity.md "Challenge hook").
 */
export function installGuestPassRoute(identity: Identity): void {
  identity.http.post(
    '/api/auth/guest-pass',
    {
      schema: {
        tags: ['auth'],
        summary: 'Trade a solved challenge for a guest pass (guest chat, when a challenge plugin is installed)',
        body: Type.Object(
          { challenge_token: Type.Optional(Type.String({ maxLength: 4096 })) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            guest_pass: Type.String(),
            expires_in: Type.Integer(),
            header: Type.String(),
          }),
          ...ErrorResponses,
        },
      },
    },
    async request => {
      if (identity.settings.get('allow_guest') !== true) throw identityErrors.PARLEY_ERR_IDENTITY_GUEST_DISABLED()
      await identity.challenges.assert({ action: 'guest', token: request.body.challenge_token, ip: request.ip })
      const { pass, expiresIn } = identity.guestPasses.issue(request.ip)
      return { guest_pass: pass, expires_in: expiresIn, header: 'X-Parley-Guest-Pass' }
    },
  )
}
