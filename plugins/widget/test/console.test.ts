import admin, { buildConsole } from '@parley/admin'
import identity from '@parley/identity'
import openai from '@parley/openai'
import { createChannel, createTestGateway, startMockUpstream } from '@parley/core/testing'
import { browserTest, DESKTOP, openPage, PHONE } from '@parley/core/testing/browser'
import widget from '../src/index.js'
import { ensureBuilt } from './helpers.js'

/** The console's widget clients section in Chromium: create (the secret once), list, disable; en and zh-CN. */

const ADMIN = { username: 'admin', password: 'console-admin-password' } as const

for (const run of [
  { lang: 'en', viewport: DESKTOP, shot: 'widget-console-desktop-en', disabled: 'Disabled' },
  { lang: 'zh-CN', viewport: PHONE, shot: 'widget-console-phone-zh-CN', disabled: '已停用' },
]) {
  browserTest(`console section (${run.lang}): a new client shows its secret once, then can be disabled`, async t => {
    await Promise.all([ensureBuilt(), buildConsole()])
    const upstream = await startMockUpstream()
    t.teardown(upstream.close)
    const gateway = await createTestGateway({
      plugins: [identity, openai, admin, widget],
      listen: true,
      config: { admin: ADMIN },
    })
    t.teardown(gateway.close)
    const login = await gateway.inject({ method: 'POST', url: '/api/auth/admin/login', payload: ADMIN })
    const token = (login.json() as { access_token: string }).access_token
    await createChannel(
      gateway,
      { name: 'mock', base_url: upstream.url, keys: ['sk-mock-000000000000'], models: ['gpt-4o-mini'] },
      token,
    )

    const { page } = await openPage(t, { baseUrl: gateway.url as string, viewport: run.viewport })
    await page.goto(`/admin/widget-clients?lang=${run.lang}`)
    await page.waitForSelector('[data-role=login-form]')
    await page.fill('input[name=username]', ADMIN.username)
    await page.fill('input[name=password]', ADMIN.password)
    await Promise.all([
      page.waitForURL(url => url.pathname === '/admin/widget-clients'),
      page.click('[data-role=login-form] button[type=submit]'),
    ])
    await page.waitForSelector('[data-widget=console] [data-role=rows] tr')

    await page.fill('#wc-name', 'Shop')
    await page.fill('#wc-model', 'gpt-4o-mini')
    await page.fill('#wc-ips', '203.0.113.7\n10.0.0.0/8')
    await page.fill('#wc-origins', 'https://shop.example')
    await page.fill('#wc-greeting', run.lang === 'en' ? 'Hi! How can we help?' : '您好！')
    await page.click('[data-role=form] button[type=submit]')
    await page.waitForSelector('[data-role=secret]:not([hidden])')
    t.match(await page.textContent('[data-role=secret]'), /wsk_[A-Za-z0-9_-]{43}/, 'the secret, once')
    // The list is fetched again after the create: wait for the new row, then read it.
    await page.waitForSelector('[data-role=rows] tr:has-text("wc_")')
    t.match(await page.textContent('[data-role=rows]'), /Shop.*wc_[0-9a-f]{20}.*gpt-4o-mini.*https:\/\/shop\.example/s)
    await page.evaluate(() => window.scrollTo(0, 0))
    await page.screenshot({ path: `docs/screenshots/${run.shot}.png` })

    await page.click(`[data-role=rows] button:text("${run.lang === 'en' ? 'Disable' : '停用'}")`)
    await page.waitForSelector(`[data-role=rows] .admin-badge:text("${run.disabled}")`)
    const listed = await gateway.inject({
      method: 'GET',
      url: '/api/admin/widget-clients',
      headers: { authorization: `Bearer ${token}` },
    })
    t.match(listed.json(), {
      items: [{ name: 'Shop', enabled: false, allowed_ips: ['203.0.113.7', '10.0.0.0/8'] }],
      total: 1,
    })
    t.notMatch(listed.body, /wsk_/, 'the list never shows a secret')
    await page.reload()
    await page.waitForSelector('[data-role=rows] tr')
    t.equal(await page.locator('[data-role=secret]').isHidden(), true, 'gone after a reload')
  })
}
