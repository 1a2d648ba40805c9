import type { EntityManager } from '@parley/core'
import { Group } from './entities.js'

/** What other plugins may read about groups (`IDENTITY_GROUPS`); the table stays identity's own. */
export interface IdentityGroups {
  /** How many personal model configs a member of `group` may create; 0 for an unknown group. */
  modelConfigLimit(group: string): Promise<number>
}

export const IDENTITY_GROUPS = Symbol.for('parley.identity.groups')

export function identityGroups(em: () => EntityManager): IdentityGroups {
  return {
    async modelConfigLimit(group) {
      const row = await em().findOne(Group, { name: group }, { fields: ['modelConfigLimit'] })
      return row?.modelConfigLimit ?? 0
    },
  }
}
