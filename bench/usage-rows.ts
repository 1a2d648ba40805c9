/**
 * The usage rows of `npm run bench:usage` (bench/usage-scale.ts), the same on every run: what a
 * busy deployment logs over a few months.
 */
import type { UsageRecord } from '@parley/core'
import type { UsageEndpoint, UsagePrincipalKind, UsageStatus } from '../core/src/usage/entities.js'

export const MODELS = [
  'gpt-4o-mini',
  'gpt-4o',
  'deepseek-chat',
  'deepseek-reasoner',
  'qwen-max',
  'qwen-plus',
  'qwen-turbo',
  'glm-4',
  'glm-4-flash',
  'moonshot-v1-8k',
  'claude-3-5-sonnet',
  'claude-3-5-haiku',
  'doubao-pro',
  'coze-bot-helpdesk',
  'o3-mini',
  'gemini-1.5-pro',
]
const CHANNELS = 12
const ERRORS = ['upstream_error', 'timeout', 'rate_limit_exceeded', 'invalid_request_error']

export interface RowPlan {
  /** Rows in all. */
  readonly rows: number
  /** Distinct users; user 1 calls most. */
  readonly users: number
  /** The first row's time, epoch ms; the rows are spread evenly over `span` ms from there. */
  readonly start: number
  readonly span: number
}

/** mulberry32: the same rows on every run. */
export function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let x = Math.imul(state ^ (state >>> 15), 1 | state)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296
  }
}

/**
 * Row `n` of the seed, oldest first (as the writer receives them in production): users skewed
 * (a few heavy callers, a long tail), their portal chats, their API tokens' calls, guests and
 * widget users; models skewed; 12 channels; 93% success, 5% errors, 2% aborted.
 */
export function row(n: number, next: () => number, plan: RowPlan): UsageRecord {
  const who = next()
  const kind: UsagePrincipalKind = who < 0.12 ? 'guest' : who < 0.2 ? 'widget_user' : who < 0.55 ? 'user' : 'api_token'
  const user = kind === 'user' || kind === 'api_token' ? 1 + Math.floor(next() ** 2 * plan.users) : null
  const endpoint: UsageEndpoint =
    kind === 'user' ? 'portal' : kind === 'widget_user' ? 'widget' : next() < 0.8 ? 'chat.completions' : 'responses'
  const roll = next()
  const status: UsageStatus = roll < 0.05 ? 'error' : roll < 0.07 ? 'aborted' : 'success'
  const channel = 1 + Math.floor(next() ** 1.5 * CHANNELS)
  const ip =
    user === null
      ? `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`
      : `192.0.${Math.floor(user / 250)}.${user % 250}`
  return {
    createdAt: new Date(plan.start + Math.floor((n / plan.rows) * plan.span)),
    requestId: `bench-${n.toString(36)}-${Math.floor(next() * 1e9).toString(36)}`,
    ip,
    principalKind: kind,
    userId: user,
    username: user === null ? null : `user${user}`,
    tokenId: kind === 'api_token' && user !== null ? user * 3 + Math.floor(next() * 3) : null,
    model: MODELS[Math.floor(next() ** 1.6 * MODELS.length)] as string,
    channelId: status === 'error' && next() < 0.2 ? null : channel,
    channelName: `channel-${channel}`,
    promptTokens: 20 + Math.floor(next() * 3000),
    completionTokens: status === 'success' ? Math.floor(next() * 1500) : 0,
    estimated: next() < 0.05,
    status,
    errorType: status === 'error' ? (ERRORS[Math.floor(next() * ERRORS.length)] as string) : null,
    latencyMs: 150 + Math.floor(next() * 8000),
    ttfbMs: status === 'error' ? null : 80 + Math.floor(next() * 900),
    endpoint,
    stream: next() < 0.7,
  }
}
