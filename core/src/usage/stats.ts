import type { EntityManager } from '@mikro-orm/core'
import { addDays, formatDate, isoWeekday, ZonedCalendar, type LocalDate } from './calendar.js'
import { bucketOf } from './rollups.js'
import { isSqlite } from './sql.js'
import type { UsageStats, UserUsage } from './views.js'

/** Days in the `daily` series, today included. */
export const DAILY_DAYS = 7
/** The longest window `GET /api/usage/me` answers. */
export const USER_USAGE_MAX_DAYS = 90

export type { UsageStats, UserUsage } from './views.js'

type Row = Record<string, unknown>

/**
 * The dashboard numbers. Windows are calendar periods in `timeZone`: today, the ISO week (from
 * Monday 00:00) and the month (from the 1st, 00:00). Calls and tokens come from the quarter-hour
 * rollups: a month is a few thousand rollup rows per model, whatever the traffic. Active users
 * come from each user's last call: an index range over at most the number of users.
 */
export async function computeStats(em: EntityManager, options: { now: Date; timeZone: string }): Promise<UsageStats> {
  const calendar = new ZonedCalendar(options.timeZone)
  const today = calendar.dateOf(options.now.getTime())
  // The 7 days of the series and the day after them: 8 boundaries, the last is tomorrow 00:00.
  const days = Array.from({ length: DAILY_DAYS + 1 }, (_, index) => addDays(today, index - DAILY_DAYS + 1))
  const dayStarts = days.map(date => bucketOf(calendar.startOf(date)))
  const monday = addDays(today, -isoWeekday(today))
  const week = [bucketOf(calendar.startOf(monday)), bucketOf(calendar.startOf(addDays(monday, 7)))] as const
  const monthStart = calendar.startOf({ ...today, day: 1 })
  const monthEnd = calendar.startOf(nextMonth(today))
  const connection = em.getConnection()

  // Month: calls, tokens and the share of each model, in one pass over the month's buckets.
  const perModel = (await connection.execute(
    'select `model`, sum(`calls`) as `calls`, sum(`prompt_tokens`) as `prompt`, sum(`completion_tokens`) as `completion` from `usage_rollups` where `bucket` >= ? and `bucket` < ? group by `model`',
    [bucketOf(monthStart), bucketOf(monthEnd)],
  )) as Row[]
  const models = perModel
    .map(row => ({ model: String(row.model), calls: Number(row.calls) }))
    .filter(row => row.calls > 0)
    .sort((a, b) => b.calls - a.calls || (a.model < b.model ? -1 : a.model > b.model ? 1 : 0))

  // Today, the week and the 7 days: calls per bucket over at most 13 days, summed here.
  const from = Math.min(dayStarts[0] as number, week[0])
  const to = Math.max(dayStarts[DAILY_DAYS] as number, week[1])
  const perBucket = (await connection.execute(
    'select `bucket`, sum(`calls`) as `calls` from `usage_rollups` where `bucket` >= ? and `bucket` < ? group by `bucket`',
    [from, to],
  )) as Row[]
  const callsBetween = (low: number, high: number) =>
    perBucket.reduce(
      (sum, row) => (Number(row.bucket) >= low && Number(row.bucket) < high ? sum + Number(row.calls) : sum),
      0,
    )

  return {
    calls: {
      today: callsBetween(dayStarts[DAILY_DAYS - 1] as number, dayStarts[DAILY_DAYS] as number),
      week: callsBetween(...week),
      month: models.reduce((sum, row) => sum + row.calls, 0),
    },
    models,
    daily: days.slice(0, DAILY_DAYS).map((date, index) => ({
      date: formatDate(date),
      calls: callsBetween(dayStarts[index] as number, dayStarts[index + 1] as number),
    })),
    tokens: {
      prompt: perModel.reduce((sum, row) => sum + Number(row.prompt ?? 0), 0),
      completion: perModel.reduce((sum, row) => sum + Number(row.completion ?? 0), 0),
    },
    active_users: await activeUsers(em, new Date(monthStart)),
    time_zone: options.timeZone,
  }
}

function nextMonth(date: LocalDate): LocalDate {
  return date.month === 12
    ? { year: date.year + 1, month: 1, day: 1 }
    : { year: date.year, month: date.month + 1, day: 1 }
}

/** Users whose last call is on or after `from`: all who called since, as no call is in the future. */
async function activeUsers(em: EntityManager, from: Date): Promise<number> {
  const [row] = (await em
    .getConnection()
    .execute('select count(*) as `active` from `usage_user_activity` where `last_call_at` >= ?', [from])) as Row[]
  return Number(row?.active ?? 0)
}

/**
 * One user's calls and tokens over the last `days` calendar days in `timeZone`, today
 * included: per model and per day. The rollups are not per user, so this reads the user's
 * calls from one range of the index `(user_id, created_at, model, tokens)`, grouped in the
 * database: each is given its day by comparing `created_at` with the day boundaries (plain
 * comparisons, the same on SQLite and MySQL, whatever the zone), so no row travels to the gateway.
 */
export async function computeUserUsage(
  em: EntityManager,
  options: { userId: number; days: number; now: Date; timeZone: string },
): Promise<UserUsage> {
  const calendar = new ZonedCalendar(options.timeZone)
  const today = calendar.dateOf(options.now.getTime())
  const dates = Array.from({ length: options.days }, (_, index) => addDays(today, index - options.days + 1))
  // Each day's first instant, and tomorrow's: days + 1 boundaries.
  const starts = [...dates, addDays(today, 1)].map(date => new Date(calendar.startOf(date)))
  const day =
    options.days === 1
      ? '0'
      : `case ${starts
          .slice(1, -1)
          .map((_, index) => `when \`created_at\` < ? then ${index}`)
          .join(' ')} else ${options.days - 1} end`
  // The index holds every column read (migration 0010), so the user's rows, scattered over the
  // table, are not read one by one; it is named, as over a window that holds every row MariaDB
  // without fresh statistics read the whole table instead (1.3 s on a million rows).
  const from = isSqlite(em)
    ? '`usage_logs` indexed by `usage_logs_user_totals_index`'
    : '`usage_logs` force index (`usage_logs_user_totals_index`)'
  const rows = (await em
    .getConnection()
    .execute(
      `select ${day} as \`day\`, \`model\`, count(*) as \`calls\`, sum(\`prompt_tokens\`) as \`prompt\`, sum(\`completion_tokens\`) as \`completion\` from ${from} where \`user_id\` = ? and \`created_at\` >= ? and \`created_at\` < ? group by \`day\`, \`model\``,
      [...starts.slice(1, -1), options.userId, starts[0], starts[options.days]],
    )) as Row[]
  const tally = () => ({ calls: 0, prompt_tokens: 0, completion_tokens: 0 })
  const daily = dates.map(date => ({ date: formatDate(date), ...tally() }))
  const models = new Map<string, UserUsage['models'][number]>()
  const totals = tally()
  for (const row of rows) {
    const counts = {
      calls: Number(row.calls),
      prompt_tokens: Number(row.prompt ?? 0),
      completion_tokens: Number(row.completion ?? 0),
    }
    const model = String(row.model)
    const perModel = models.get(model) ?? { model, ...tally() }
    models.set(model, perModel)
    for (const target of [daily[Number(row.day)], perModel, totals]) {
      if (!target) continue
      target.calls += counts.calls
      target.prompt_tokens += counts.prompt_tokens
      target.completion_tokens += counts.completion_tokens
    }
  }
  return {
    days: options.days,
    time_zone: options.timeZone,
    from: formatDate(dates[0] as LocalDate),
    to: formatDate(today),
    totals,
    models: [...models.values()].sort(
      (a, b) => b.calls - a.calls || (a.model < b.model ? -1 : a.model > b.model ? 1 : 0),
    ),
    daily,
  }
}
