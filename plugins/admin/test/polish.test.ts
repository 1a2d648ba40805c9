import type { Page } from 'playwright-core'
import { bootConsole, browserTest, screenshot, signIn } from './console.js'

const settingsForm = '[data-role=settings-form]'

/** Every field of the settings page: its key, label, help and, for a select, its option labels. */
async function settingFields(page: Page) {
  return page.$$eval(`${settingsForm} [data-field]`, fields =>
    fields.map(field => ({
      key: (field as HTMLElement).dataset.field ?? '',
      label: field.querySelector(':scope > label')?.textContent ?? '',
      help: field.querySelector(':scope > .admin-help')?.textContent ?? '',
      options: [...field.querySelectorAll('option')].map(option => option.textContent ?? ''),
    })),
  )
}

browserTest('settings: labels, help and options from the schemas, in English and Chinese; never a raw key', async t => {
  const c = await bootConsole(t)
  const { page } = await signIn(t, c, '/admin/settings')
  await page.waitForSelector(settingsForm)
  const english = await settingFields(page)
  const keys = english.map(field => field.key)
  t.ok(keys.includes('guest_rpm') && keys.includes('rate-limit.widget_rpm') && keys.includes('identity.distinct_login_errors') && keys.includes('theme.accent_color'), 'core, plugin and theme settings')
  for (const field of english) {
    t.not(field.label.trim(), '', `${field.key} has a label`)
    t.notMatch(field.label, /^[a-z0-9_.-]+$/, `${field.key}: "${field.label}" is words, not a key`)
    t.not(field.label, field.key)
  }
  const byKey = (fields: typeof english) => new Map(fields.map(field => [field.key, field]))
  const en = byKey(english)
  t.match(en.get('guest_rpm'), { label: 'Guest requests per minute', help: 'Per IP address; 0 for no limit' })
  t.same(en.get('chat_history_mode')?.options, ['In the browser', 'Not kept', 'On the server'], "a select's options in words")
  t.match(en.get('rate-limit.widget_rpm'), { label: 'Widget requests per minute' }, "a plugin's title from its schema")
  t.match(en.get('theme.accent_color'), { label: 'Accent colour', help: 'Buttons, links and focus rings' }, "a theme's from its locale files")
  t.same(en.get('theme.color_scheme')?.options, ['Auto (system)', 'Light', 'Dark'])
  t.match(en.get('identity.distinct_login_errors'), { label: 'Distinct login errors' }, 'a setting without a title: its key made readable')

  await page.goto('/admin/settings?lang=zh-CN')
  await page.waitForSelector(settingsForm)
  const zh = byKey(await settingFields(page))
  t.match(zh.get('guest_rpm'), { label: '访客每分钟请求数', help: '按 IP 地址计；0 表示不限' })
  t.same(zh.get('chat_history_mode')?.options, ['保存在浏览器中', '不保存', '保存在服务器上'])
  t.match(zh.get('rate-limit.widget_rpm'), { label: '挂件用户每分钟请求数' })
  t.match(zh.get('theme.accent_color'), { label: '强调色', help: '按钮、链接和焦点框的颜色' })
  t.same(zh.get('theme.color_scheme')?.options, ['自动（跟随系统）', '浅色', '深色'])
  t.match(zh.get('time_zone'), { label: '统计时区' })
  await screenshot(page, 'admin-settings-zh-CN')
})

