import type { Page } from 'playwright-core'
import type { UsageRecord } from '@parley/core'
import { bootConsole, browserTest, screenshot, signIn } from './console.js'

const dialog = 'dialog[open]'
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
  t.ok(
    keys.includes('guest_rpm') &&
      keys.includes('rate-limit.widget_rpm') &&
      keys.includes('identity.distinct_login_errors') &&
      keys.includes('theme.accent_color'),
    'core, plugin and theme settings',
  )
  for (const field of english) {
    t.not(field.label.trim(), '', `${field.key} has a label`)
    t.notMatch(field.label, /^[a-z0-9_.-]+$/, `${field.key}: "${field.label}" is words, not a key`)
    t.not(field.label, field.key)
  }
  const byKey = (fields: typeof english) => new Map(fields.map(field => [field.key, field]))
  const en = byKey(english)
  t.match(en.get('guest_rpm'), { label: 'Guest requests per minute', help: 'Per IP address; 0 for no limit' })
  t.same(
    en.get('chat_history_mode')?.options,
    ['In the browser', 'Not kept', 'On the server'],
    "a select's options in words",
  )
  t.match(en.get('rate-limit.widget_rpm'), { label: 'Widget requests per minute' }, "a plugin's title from its schema")
  t.match(
    en.get('theme.accent_color'),
    { label: 'Accent colour', help: 'Buttons, links and focus rings' },
    "a theme's from its locale files",
  )
  t.same(en.get('theme.color_scheme')?.options, ['Auto (system)', 'Light', 'Dark'])
  t.match(
    en.get('identity.distinct_login_errors'),
    { label: 'Distinct login errors' },
    'a setting without a title: its key made readable',
  )

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

browserTest(
  'a colour setting: a native picker beside its text, each following the other; a bad colour is refused in place',
  async t => {
    const c = await bootConsole(t)
    const { page } = await signIn(t, c, '/admin/settings')
    const theme = '[data-role=settings-form][data-owner="theme:default"]'
    const text = `${theme} [data-field="theme.accent_color"] input[type=text]`
    const picker = `${theme} [data-field="theme.accent_color"] input[type=color]`
    await page.waitForSelector(picker)
    t.equal(await page.inputValue(text), '#3b6cf6', 'the text holds the value')
    t.equal(await page.inputValue(picker), '#3b6cf6', 'and the picker shows it')
    t.equal(await page.getAttribute(picker, 'aria-label'), 'Pick Accent colour', 'the picker is labelled')
    t.equal(await page.textContent(`${theme} [data-field="theme.accent_color"] label`), 'Accent colour')

    await page.fill(text, '#AA3355')
    t.equal(await page.inputValue(picker), '#aa3355', 'typing a colour moves the picker')
    await page.$eval(picker, input => {
      ;(input as HTMLInputElement).value = '#114477'
      input.dispatchEvent(new Event('input', { bubbles: true }))
    })
    t.equal(await page.inputValue(text), '#114477', 'picking writes the text')
    await page
      .locator(theme)
      .screenshot({ path: new URL('../../../docs/screenshots/admin-settings-colour.png', import.meta.url).pathname })
    await page.click(`${theme} [data-action=save-settings]`)
    await page.waitForSelector('[data-role=notice]:has-text("Settings saved")')
    t.equal(c.gateway.settings.get('theme.accent_color'), '#114477')

    await page.fill(text, 'blue')
    await page.click(`${theme} [data-action=save-settings]`)
    await page.waitForSelector(`${theme} [data-field="theme.accent_color"] [data-role=field-error]:not([hidden])`)
    t.match(await page.textContent(`${theme} [data-field="theme.accent_color"] [data-role=field-error]`), /#rrggbb/)
    t.equal(c.gateway.settings.get('theme.accent_color'), '#114477', 'nothing was sent')
  },
)

const row = (n: number, extra: Partial<UsageRecord>): UsageRecord => ({
  requestId: `req-${n}`,
  ip: '198.51.100.7',
  principalKind: 'guest',
  model: 'echo',
  promptTokens: 3,
  completionTokens: 5,
  estimated: false,
  status: 'success',
  latencyMs: 120,
  ttfbMs: 20,
  endpoint: 'chat.completions',
  stream: false,
  ...extra,
})

browserTest('usage log statuses are words (success, error, aborted and why), in English and Chinese', async t => {
  const c = await bootConsole(t)
  c.gateway.usage.record(row(1, {}))
  c.gateway.usage.record(row(2, { status: 'error', errorType: 'upstream_error' }))
  c.gateway.usage.record(row(3, { status: 'aborted', errorType: 'client_closed' }))
  c.gateway.usage.record(row(4, { status: 'error', errorType: 'some_new_failure' }))
  await c.gateway.usage.flush()
  const { page } = await signIn(t, c, '/admin/logs')
  await page.waitForSelector('[data-role=logs] tbody tr:nth-child(4)')
  const statuses = () =>
    page.$$eval('[data-role=logs] tbody tr', rows =>
      rows.map(r => r.querySelector('.admin-status')?.textContent?.trim().replace(/\s+/g, ' ')),
    )
  t.same(await statuses(), ['ErrorSome new failure', 'AbortedClosed by the client', 'ErrorUpstream error', 'Success'])
  t.notMatch(
    await page.textContent('[data-role=logs] tbody'),
    /upstream_error|client_closed|aborted|success/,
    'no raw code in the table',
  )
  t.equal(
    await page.getAttribute('[data-role=logs] tbody tr:nth-child(3) [data-role=status-reason]', 'title'),
    'upstream_error',
    'the type stays a tooltip',
  )

  await page.goto('/admin/logs?lang=zh-CN')
  await page.waitForSelector('[data-role=logs] tbody tr:nth-child(4)')
  t.same(await statuses(), ['错误Some new failure', '已中断客户端已断开', '错误上游错误', '成功'])
  t.same(await page.$$eval('[data-role=log-filters] select option', options => options.map(o => o.textContent)), [
    '全部状态',
    '成功',
    '错误',
    '已中断',
  ])
  await screenshot(page, 'admin-logs-zh-CN')
})

/** Controls without a name a screen reader could say: no label, no aria-label, no aria-labelledby. */
async function unlabelled(page: Page): Promise<string[]> {
  return page.$$eval('select, input:not([type=hidden]):not([type=submit]):not([type=button]), textarea', controls =>
    controls
      .filter(control => {
        const labels = (control as HTMLInputElement).labels
        const labelled = labels !== null && [...labels].some(label => (label.textContent ?? '').trim() !== '')
        const aria = (control.getAttribute('aria-label') ?? '').trim() !== '' || control.hasAttribute('aria-labelledby')
        return !labelled && !aria
      })
      .map(
        control =>
          `${control.tagName.toLowerCase()}[name=${control.getAttribute('name') ?? ''}] in ${control.closest('[data-role], [data-field], dialog')?.outerHTML.slice(0, 80) ?? 'the page'}`,
      ),
  )
}

browserTest('every select and input of every section and dialog has a label', async t => {
  const c = await bootConsole(t)
  const { page } = await signIn(t, c, '/admin')
  const sections = [
    '/admin',
    '/admin/channels',
    '/admin/models',
    '/admin/users',
    '/admin/groups',
    '/admin/chat-routes',
    '/admin/blocked-ips',
    '/admin/logs',
    '/admin/jobs',
    '/admin/settings',
  ]
  for (const path of sections) {
    await page.goto(path)
    await page.waitForSelector('.admin-main:not(:has(.admin-muted:only-child))')
    t.same(await unlabelled(page), [], `${path}: every control is labelled`)
  }
  for (const [path, action] of [
    ['/admin/channels', 'create-channel'],
    ['/admin/users', 'create-user'],
    ['/admin/models', 'create-model'],
    ['/admin/models', 'bind-model'],
    ['/admin/groups', 'create-group'],
  ] as const) {
    await page.goto(path)
    await page.click(`[data-action=${action}]`)
    await page.waitForSelector(dialog)
    t.same(await unlabelled(page), [], `${path} ${action}: every control of the dialog is labelled`)
  }
})
