/*
 * The languages of the UI and of the messages callers read: Simplified Chinese
 * and English, English by default. One parser so the theme engine and the plugins agree.
 */

export type Language = 'zh-CN' | 'en'

export const LANGUAGES: readonly Language[] = ['en', 'zh-CN']
export const DEFAULT_LANGUAGE: Language = 'en'

/**
 * The caller's language from `Accept-Language`: the most preferred tag that is Chinese or
 * English, by q-value (ties keep the header's order); English when neither is asked for.
 *
 * @example
 * languageOf('fr;q=1, zh-TW;q=0.8, en;q=0.5') // 'zh-CN'
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
  return DEFAULT_LANGUAGE
}

/** A language name as written in a cookie or query (`zh-CN`, `zh-cn`, `en`), or undefined. */
export function parseLanguage(value: unknown): Language | undefined {
  if (typeof value !== 'string') return undefined
  const lower = value.trim().toLowerCase()
  if (lower === 'en') return 'en'
  if (lower === 'zh-cn' || lower === 'zh') return 'zh-CN'
  return undefined
}
