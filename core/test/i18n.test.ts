import t from 'tap'
import { languageOf } from '@parley/core'
import { parseLanguage } from '../src/i18n.js'

t.test('languageOf picks the most preferred Chinese or English tag', async t => {
  const cases: Array<[string | string[] | undefined, string]> = [
    [undefined, 'en'],
    ['', 'en'],
    ['fr-FR, de', 'en'],
    ['zh-CN,zh;q=0.9,en;q=0.8', 'zh-CN'],
    ['zh-TW', 'zh-CN'],
    ['zh', 'zh-CN'],
    ['en-GB', 'en'],
    ['fr;q=1, zh-TW;q=0.8, en;q=0.5', 'zh-CN'],
    ['en;q=0.5, zh;q=0.9', 'zh-CN'],
    ['en, zh', 'en'],
    ['zh;q=0.8, en;q=0.8', 'zh-CN'],
    ['zh;q=0, en', 'en'],
    ['*', 'en'],
    ['zh;q=0.001, en;q=0.0009', 'zh-CN'],
    [['fr', 'zh-HK;q=0.4'], 'zh-CN'],
  ]
  for (const [header, expected] of cases) t.equal(languageOf(header), expected, JSON.stringify(header))
})

t.test('parseLanguage accepts the two UI languages only', async t => {
  t.equal(parseLanguage('zh-CN'), 'zh-CN')
  t.equal(parseLanguage('zh-cn'), 'zh-CN')
  t.equal(parseLanguage('en'), 'en')
  t.equal(parseLanguage('fr'), undefined)
  t.equal(parseLanguage(['en']), undefined)
})
