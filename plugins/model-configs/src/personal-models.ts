import type { PersonalModels, Principal } from '@parley/core'
import type { ModelConfigStore } from './store.js'

/** The most configs the portal's picker lists; the account page lists them all. */
const PICKER_LIMIT = 100

/** The portal chat's view of the configs: signed-in users (session or token) only, their own only. */
export function personalModels(store: ModelConfigStore): PersonalModels {
  return {
    async list(principal) {
      const userId = userIdOf(principal)
      if (userId === undefined) return []
      const { rows } = await store.list(userId, 1, PICKER_LIMIT)
      return rows.map(row => ({ id: row.id, name: row.name, model: row.model }))
    },
    async resolve(principal, id) {
      const userId = userIdOf(principal)
      return userId === undefined ? undefined : store.upstreamOf(userId, id)
    },
  }
}

function userIdOf(principal: Principal): number | undefined {
  return principal.kind === 'user' || principal.kind === 'api_token' ? Number(principal.userId) : undefined
}
