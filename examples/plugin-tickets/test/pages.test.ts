import path from 'node:path'
import type { Test } from 'tap'
import { createTestGateway, fixtureAuth, ROOT } from '@parley/core/testing'
import { browserTest, DESKTOP, openPage, PHONE, until } from '@parley/core/testing/browser'
import tickets from '../src/index.js'
import { png } from './helpers.js'

// The portal page and the console section in chromium, with screenshots for docs/screenshots/.
const SHOTS = path.resolve(import.meta.dirname, '../../../docs/screenshots')
const USER = 'user-default'

async function boot(t: Test, area: 'portal' | 'console') {
  const gateway = await createTestGateway({
    plugins: [fixtureAuth, tickets],
    // The pages draw the portal's or the console's menu and styles (partial blocks).
    config: {
      plugins: ['@parley/storage-local', '@parley/identity', area === 'portal' ? '@parley/portal' : '@parley/admin'],
    },
    listen: true,
  })
  t.teardown(gateway.close)
  const as = (token: string) => ({ authorization: `Bearer ${token}` })
  const opened = await gateway.inject({
    method: 'POST',
    url: '/api/tickets',
    headers: as(USER),
    payload: { subject: 'The chat page stays blank', body: 'Since this morning, with Firefox.', attachments: [png] },
  })
  await gateway.inject({
    method: 'POST',
    url: `/api/admin/tickets/${opened.json().id}/messages`,
    headers: as(ROOT),
    payload: { body: 'Thanks! Could you clear the cache and try again?' },
  })
  return gateway
}

/** The portal's sign-in as its script keeps it (the fixture's bearer token stands for a session). */
const signedIn = `localStorage.setItem('parley.session', JSON.stringify({ access_token: '${USER}', refresh_token: 'r', user: { id: 2, username: 'ada' } }))`

for (const [lang, viewport, suffix] of [
  ['en', DESKTOP, ''],
  ['zh-CN', PHONE, '-phone'],
] as const) {
  browserTest(`portal page (${lang}${suffix}): the answer is marked, opening it shows the thread`, async t => {
    const gateway = await boot(t, 'portal')
    const { page } = await openPage(t, {
      baseUrl: gateway.url as string,
      viewport,
      prepare: context => context.addInitScript({ content: signedIn }),
    })
    await page.goto(`/tickets?lang=${lang}`)
    await page.locator('.tickets-unread').waitFor()
    const link = page.locator('.portal-nav a[href="/tickets"]')
    t.ok(await link.isVisible(), "the portal's menu links the page once signed in")
    t.equal(await link.getAttribute('aria-current'), 'page')
    await page.locator('.tickets-link').first().click()
    await page.locator('.tickets-from-admin').waitFor()
    t.match(await page.locator('.tickets-thread').innerText(), /clear the cache/)
    await page.screenshot({ path: path.join(SHOTS, `tickets-portal-${lang}${suffix}.png`), fullPage: true })

    await page.fill('[name=subject]', 'Second question')
    await page.fill('textarea[name=body]', 'Where are my invoices?')
    await page.click('[data-role=open-form] button[type=submit]')
    await until(async () => (await page.locator('.tickets-link').count()) === 2, 'the new ticket in the list')
  })

  browserTest(`console section (${lang}${suffix}): an admin answers and closes`, async t => {
    const gateway = await boot(t, 'console')
    const { page, context } = await openPage(t, { baseUrl: gateway.url as string, viewport })
    await context.setExtraHTTPHeaders({ authorization: `Bearer ${ROOT}` })
    await page.goto(`/admin/tickets?lang=${lang}`)
    await page.locator('.admin-nav a[href="/admin/tickets"][aria-current="page"]').waitFor()
    await page.selectOption('[data-role=status]', 'answered')
    await page.locator('.tickets-link').first().click()
    await page.locator('.tickets-from-admin').waitFor()
    await page.fill('.tickets-thread textarea', 'It works again after the update.')
    await page.click('.tickets-thread button[type=submit]')
    await until(async () => (await page.locator('.tickets-from-admin').count()) === 2, 'the answer in the thread')
    await page.screenshot({ path: path.join(SHOTS, `tickets-console-${lang}${suffix}.png`), fullPage: true })
    await page.click('.tickets-close')
    await page.locator('.tickets-status-closed').first().waitFor()
  })
}
