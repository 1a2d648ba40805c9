import type { CallerKind } from './callers.js'

/** The languages of SPEC §8: Simplified Chinese and English (the default). */
export type Language = 'zh-CN' | 'en'

/**
 * The caller's language from `Accept-Language`: the most preferred tag that is Chinese or
 * English, by q-value (ties keep the header's order); English when neither is asked for.
 */
export function languageOf(header: string | readonly string[] | undefined): Language {
  const text = typeof header === 'string' ? header : (header?.join(',') ?? '')
  const ranked = text
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';')
      const q = params.map(param => /^\s*q=([0-9.]+)\s*$/i.exec(param)?.[1]).find(value => value !== undefined)
      return { tag: tag.trim().toLowerCase(), q: q === undefined ? 1 : Number(q), index }
    })
    .filter(entry => entry.tag !== '' && Number.isFinite(entry.q) && entry.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index)
  for (const { tag } of ranked) {
    if (tag === 'zh' || tag.startsWith('zh-')) return 'zh-CN'
    if (tag === 'en' || tag.startsWith('en-') || tag === '*') return 'en'
  }
  return 'en'
}

const REASONS: Record<Language, Record<CallerKind, (limit: number, seconds: number) => string>> = {
  en: {
    guest: (limit, seconds) => `guests may send ${limit} requests per minute from one address; try again in ${seconds} s`,
    user: (limit, seconds) => `your account may send ${limit} requests per minute; try again in ${seconds} s`,
    token: (limit, seconds) => `this API token may send ${limit} requests per minute; try again in ${seconds} s`,
    widget: (limit, seconds) => `you may send ${limit} messages per minute; try again in ${seconds} s`,
  },
  'zh-CN': {
    guest: (limit, seconds) => `访客每个地址每分钟最多 ${limit} 次请求，请 ${seconds} 秒后重试`,
    user: (limit, seconds) => `您的账号每分钟最多 ${limit} 次请求，请 ${seconds} 秒后重试`,
    token: (limit, seconds) => `此 API 令牌每分钟最多 ${limit} 次请求，请 ${seconds} 秒后重试`,
    widget: (limit, seconds) => `每分钟最多发送 ${limit} 条消息，请 ${seconds} 秒后重试`,
  },
}

/** Why a caller was refused, in their language; the seconds match the `Retry-After` header. */
export function refusalReason(language: Language, kind: CallerKind, limit: number, retryAfterMs: number): string {
  return REASONS[language][kind](limit, Math.max(1, Math.ceil(retryAfterMs / 1000)))
}
