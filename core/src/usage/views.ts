/*
 * The usage admin API shapes. Import-free on purpose: the admin console's front end
 * type-checks against these same declarations.
 */

/** One row as the API shows it (Appendix A names first, then the extra columns). */
export interface UsageLogView {
  id: number
  created_at: string
  ip_address: string
  user_id: number | null
  username: string | null
  model: string
  channel_id: number | null
  channel_name: string | null
  prompt_tokens: number
  completion_tokens: number
  estimated: boolean
  status: string
  error_type: string | null
  latency_ms: number
  ttfb_ms: number | null
  request_id: string
  principal_kind: string
  token_id: number | null
  endpoint: string
  stream: boolean
}

/** `GET /api/admin/stats` (Appendix A), plus the zone its days are counted in. */
export interface UsageStats {
  calls: { today: number; week: number; month: number }
  /** This month, most calls first. */
  models: Array<{ model: string; calls: number }>
  /** The last 7 days, oldest first, today last. */
  daily: Array<{ date: string; calls: number }>
  /** This month. */
  tokens: { prompt: number; completion: number }
  /** Signed-in users (API tokens count as their owner) with at least one call this month. */
  active_users: number
  time_zone: string
}

/** One day or one model of `GET /api/usage/me`. */
export interface UsageTally {
  calls: number
  prompt_tokens: number
  completion_tokens: number
}

/** `GET /api/usage/me`: the caller's own calls and tokens, by model and by day. */
export interface UserUsage {
  /** How many days, today included. */
  days: number
  /** The `time_zone` setting: days start at midnight there. */
  time_zone: string
  /** First and last day (today), `YYYY-MM-DD`. */
  from: string
  to: string
  totals: UsageTally
  /** Most calls first. */
  models: Array<UsageTally & { model: string }>
  /** Every day of the window, oldest first, today last; days without a call count zero. */
  daily: Array<UsageTally & { date: string }>
}
