import path from 'node:path'
import type { Test } from 'tap'
import t from 'tap'
import { checkTheme } from '@parley/core'
import { createTestGateway } from '@parley/core/testing'
import { browserTest, DESKTOP, openPage, PHONE } from '@parley/core/testing/browser'

// The theme as an operator installs it (by package name or by path), checked like CI checks
// every theme, and photographed on the portal's pages for docs/screenshots/.
const DIR = path.resolve(import.meta.dirname, '..')
const SHOTS = path.resolve(DIR, '../../docs/screenshots')
const PACKAGE = '@parley/example-theme-harbor'

async function boot(t: Test, theme: string, listen = false) {
  const gateway = await createTestGateway({
    config: { theme, plugins: ['@parley/identity', '@parley/portal'] },
    listen,
  })
  t.teardown(gateway.close)
  return gateway
}

t.test('parley check-theme: no errors, no warnings', async t => {
  const result = checkTheme(DIR)
  t.same(result.problems, [])
  t.equal(result.manifest?.name, PACKAGE)
})

for (const theme of [PACKAGE, path.relative(process.cwd(), DIR).replace(/^(?!\.)/, './')]) {
  t.test(`installed as theme: ${theme}`, async t => {
    const gateway = await boot(t, theme)
    const page = await gateway.inject({ url: '/login', headers: { accept: 'text/html' } })
    t.equal(page.statusCode, 200)
    t.match(page.body, /<html lang="en" class="harbor"/, "the theme's layout")
    t.match(page.body, /class="harbor-band"/, 'its header partial')
    t.match(page.body, /Powered by Parley/, 'its footer partial, with the credit on by default')
    t.match(page.body, /data-portal-page="login"/, "the portal's own page inside it")
    const missing = await gateway.inject({ url: '/no/such/page', headers: { accept: 'text/html' } })
    t.equal(missing.statusCode, 404)
    t.match(missing.body, /Nothing is moored at \/no\/such\/page/, 'its 404 page')
  })
}

t.test('custom settings: an admin changes them at run time', async t => {
  const gateway = await boot(t, PACKAGE)
  await gateway.settings.set('theme.notice', 'Maintenance tonight at 22:00 UTC')
  await gateway.settings.set('theme.show_powered_by', false)
  await gateway.settings.set('theme.column_width', 'narrow')
  const page = await gateway.inject({ url: '/login?lang=zh-CN', headers: { accept: 'text/html' } })
  t.match(page.body, /<p class="harbor-notice" role="note">Maintenance tonight at 22:00 UTC<\/p>/)
  t.notMatch(page.body, /由 Parley 驱动/)
  t.match(page.body, /data-column="narrow"/)
  t.match(page.body, /回答由语言模型生成/, 'the Chinese texts')
})

for (const [lang, viewport, suffix] of [
  ['en', DESKTOP, 'desktop'],
  ['zh-CN', PHONE, 'phone'],
] as const) {
  browserTest(`screenshot: the portal's sign-in page in harbor (${lang}, ${suffix})`, async t => {
    const gateway = await boot(t, PACKAGE, true)
    await gateway.settings.set('theme.notice', lang === 'en' ? 'New: support tickets' : '新功能：工单支持')
    const { page } = await openPage(t, { baseUrl: gateway.url as string, viewport })
    await page.goto(`/login?lang=${lang}`)
    await page.locator('.harbor-band').waitFor()
    t.equal(await page.locator('.harbor-notice').count(), 1)
    await page.screenshot({ path: path.join(SHOTS, `theme-harbor-login-${lang}-${suffix}.png`), fullPage: true })
  })
}
