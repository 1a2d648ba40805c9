import { defineEntity } from '@mikro-orm/core'

/** An address or CIDR range refused on every public route; never on the admin console. */
export const BlockedIp = defineEntity({
  name: 'BlockedIp',
  tableName: 'blocked_ips',
  properties: p => ({
    id: p.integer().primary().autoincrement(),
    /** Canonical CIDR (`203.0.113.0/24`, `2001:db8::/32`); a single address is a /32 or /128. */
    rule: p.string().length(64).unique(),
    reason: p.string().length(255).default(''),
    /** Who added it (admin username at the time). */
    createdBy: p.string().length(64).default(''),
    createdAt: p.datetime().onCreate(() => new Date()),
  }),
})

/** One refused request: who, where, when, and which rule matched. Pruned by the retention job. */
export const BlockedAttempt = defineEntity({
  name: 'BlockedAttempt',
  tableName: 'blocked_attempts',
  properties: p => ({
    id: p.integer().primary().autoincrement(),
    createdAt: p.datetime().index(),
    ip: p.string().length(45),
    method: p.string().length(10),
    /** Path without the query string. */
    path: p.string().length(255),
    /** The rule as it was when it matched, so the record survives the rule's removal. */
    rule: p.string().length(64),
  }),
})

export const blocklistEntities = [BlockedIp, BlockedAttempt]
