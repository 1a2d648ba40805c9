import { Type, type Setting } from '@parley/core'
import type { TicketsContext } from './options.js'

/** What an admin can change at run time (`/api/admin/settings`, keys prefixed `tickets.`). */
export interface TicketSettings {
  readonly maxOpen: Setting<number>
  readonly perDay: Setting<number>
  readonly maxBody: Setting<number>
  readonly idleDays: Setting<number>
}

export function defineTicketSettings(ctx: TicketsContext): TicketSettings {
  return {
    maxOpen: ctx.settings.define({
      key: 'max_open',
      schema: Type.Integer({ minimum: 1, maximum: 100, title: 'Open tickets per user' }),
      default: 3,
      description: 'Tickets one user may have open (not closed) at once',
      locales: { 'zh-CN': { title: '每位用户的未关闭工单数', description: '一位用户同时可有的未关闭工单数' } },
    }),
    perDay: ctx.settings.define({
      key: 'per_day',
      schema: Type.Integer({ minimum: 1, maximum: 1000, title: 'New tickets per day' }),
      default: 5,
      description: 'Tickets one user may open per UTC day',
      locales: { 'zh-CN': { title: '每天新建工单数', description: '一位用户每个 UTC 日可新建的工单数' } },
    }),
    maxBody: ctx.settings.define({
      key: 'max_body',
      schema: Type.Integer({ minimum: 1, maximum: 100_000, title: 'Longest message' }),
      default: 5000,
      description: 'Longest message of a ticket, in characters',
      locales: { 'zh-CN': { title: '消息最大长度', description: '工单消息的最大字符数' } },
    }),
    idleDays: ctx.settings.define({
      key: 'idle_days',
      schema: Type.Integer({ minimum: 1, maximum: 365, title: 'Close answered tickets after (days)' }),
      default: 14,
      description: 'An answered ticket the user has not replied to for this many days is closed by the nightly job',
      locales: {
        'zh-CN': {
          title: '已回复工单自动关闭（天）',
          description: '已回复且用户在这么多天内未回复的工单由夜间任务关闭',
        },
      },
    }),
  }
}
