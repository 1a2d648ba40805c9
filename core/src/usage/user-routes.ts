import type { EntityManager } from '@mikro-orm/core'
import { Type } from '@sinclair/typebox'
import { requireUser } from '../auth/authenticate.js'
import type { HttpScope } from '../http/server.js'
import type { SettingsRegistry } from '../settings/registry.js'
import { computeUserUsage, USER_USAGE_MAX_DAYS } from './stats.js'

const Tally = { calls: Type.Integer(), prompt_tokens: Type.Integer(), completion_tokens: Type.Integer() }
const UserUsageSchema = Type.Object({
  days: Type.Integer(),
  time_zone: Type.String(),
  from: Type.String({ description: 'first day, YYYY-MM-DD' }),
  to: Type.String({ description: 'last day (today), YYYY-MM-DD' }),
  totals: Type.Object(Tally),
  models: Type.Array(Type.Object({ model: Type.String(), ...Tally }), { description: 'most calls first' }),
  daily: Type.Array(Type.Object({ date: Type.String(), ...Tally }), {
    description: 'every day of the window, oldest first',
  }),
})
const Query = Type.Object(
  {
    days: Type.Integer({ minimum: 1, maximum: USER_USAGE_MAX_DAYS, default: 30, description: 'days, today included' }),
  },
  { additionalProperties: false },
)

export interface UsageUser {
  readonly em: () => EntityManager
  readonly settings: SettingsRegistry
}

/**
 * `GET /api/usage/me`: the signed-in user's own calls and tokens, by model and by day, in the
 * `time_zone` setting. Only ever the caller's rows (their portal chats and their API tokens'
 * calls): the user id comes from the session, never from the request.
 */
export function installUsageUserRoutes(app: HttpScope, usage: UsageUser): void {
  app.get(
    '/api/usage/me',
    {
      schema: {
        tags: ['usage'],
        security: [{ bearer: [] }],
        summary: 'Your own calls and tokens of the last days, by model and by day',
        querystring: Query,
        response: { 200: UserUsageSchema },
      },
    },
    async request => {
      const user = await requireUser(request)
      return computeUserUsage(usage.em(), {
        userId: Number(user.userId),
        days: request.query.days,
        now: new Date(),
        timeZone: usage.settings.get('time_zone'),
      })
    },
  )
}
