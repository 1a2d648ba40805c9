import type { Language } from '@parley/core'
import type { CallerKind } from './callers.js'

const requests = (limit: number, noun = 'request') => `${limit} ${noun}${limit === 1 ? '' : 's'}`

const MESSAGES: Record<Language, Record<CallerKind, (limit: number, seconds: number) => string>> = {
  en: {
    guest: (limit, seconds) =>
      `Too many requests: guests may send ${requests(limit)} per minute from one address; try again in ${seconds} s`,
    user: (limit, seconds) =>
      `Too many requests: your account may send ${requests(limit)} per minute; try again in ${seconds} s`,
    token: (limit, seconds) =>
      `Too many requests: this API token may send ${requests(limit)} per minute; try again in ${seconds} s`,
    widget: (limit, seconds) =>
      `Too many requests: you may send ${requests(limit, 'message')} per minute; try again in ${seconds} s`,
  },
  'zh-CN': {
    guest: (limit, seconds) => `请求过于频繁：访客每个地址每分钟最多 ${limit} 次请求，请 ${seconds} 秒后重试`,
    user: (limit, seconds) => `请求过于频繁：您的账号每分钟最多 ${limit} 次请求，请 ${seconds} 秒后重试`,
    token: (limit, seconds) => `请求过于频繁：此 API 令牌每分钟最多 ${limit} 次请求，请 ${seconds} 秒后重试`,
    widget: (limit, seconds) => `发送过于频繁：每分钟最多发送 ${limit} 条消息，请 ${seconds} 秒后重试`,
  },
}

/** The whole message a refused caller reads, in their language; the seconds match `Retry-After`. */
export function refusalMessage(language: Language, kind: CallerKind, limit: number, retryAfterMs: number): string {
  return MESSAGES[language][kind](limit, Math.max(1, Math.ceil(retryAfterMs / 1000)))
}
