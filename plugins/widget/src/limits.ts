import { languageOf, type KeyValueStore, type LimitDecision, type LimitPolicy, type MaybePromise } from '@parley/core'
import type { WidgetClients } from './clients.js'

const ALLOWED: LimitDecision = Object.freeze({ allowed: true })
const WINDOW_MS = 60_000

const MESSAGES = {
  en: {
    user: (limit: number, seconds: number) =>
      `Too many messages: this chat allows ${limit} per minute; try again in ${seconds} s`,
    ip: (limit: number, seconds: number) =>
      `Too many messages from your network: ${limit} per minute; try again in ${seconds} s`,
  },
  'zh-CN': {
    user: (limit: number, seconds: number) => `发送过于频繁：此对话每分钟最多 ${limit} 条消息，请 ${seconds} 秒后重试`,
    ip: (limit: number, seconds: number) => `您的网络发送过于频繁：每分钟最多 ${limit} 条消息，请 ${seconds} 秒后重试`,
  },
} as const

/**
 * The widget's own limits on its callers, beside the rate-limit plugin's `widget_rpm`: the
 * client's RPM per external user and an RPM per address for every widget user, counted in the
 * KV store (Redis when configured, so all instances share them). Other callers are answered at
 * once, with no promise: the data plane pays nothing for this policy when the widget is unused.
 */
export function widgetLimits(clients: WidgetClients, kv: KeyValueStore, ipRpm: () => number): LimitPolicy {
  return {
    check(subject): MaybePromise<LimitDecision> {
      if (subject.kind !== 'caller' || subject.principal.kind !== 'widget_user') return ALLOWED
      const { principal, request } = subject
      const language = languageOf(request.headers['accept-language'])
      return (async () => {
        try {
          return await decide()
        } catch {
          // Fail open, as every limit does while Redis is down (docs/limits.md).
          return ALLOWED
        }
      })()
      async function decide(): Promise<LimitDecision> {
        const client = await clients.find(principal.clientId)
        const byUser =
          client && client.rpm > 0
            ? await hit(kv, `widget:rpm:${client.clientId}:${principal.externalId}`, client.rpm, 'user', language)
            : ALLOWED
        if (!byUser.allowed) return byUser
        const perIp = ipRpm()
        return perIp > 0 ? hit(kv, `widget:rpm-ip:${request.parley.ip}`, perIp, 'ip', language) : byUser
      }
    },
  }
}

async function hit(
  kv: KeyValueStore,
  key: string,
  limit: number,
  kind: 'user' | 'ip',
  language: keyof typeof MESSAGES,
): Promise<LimitDecision> {
  const { value, ttlMs } = await kv.increment(key, { ttlMs: WINDOW_MS })
  if (value <= limit) return { allowed: true, limit, remaining: limit - value, resetMs: ttlMs }
  const seconds = Math.max(1, Math.ceil(ttlMs / 1000))
  return {
    allowed: false,
    limit,
    retryAfterMs: ttlMs,
    reason: `widget ${kind} limit of ${limit} per minute reached`,
    message: MESSAGES[language][kind](limit, seconds),
  }
}
