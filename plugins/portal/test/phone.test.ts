import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { bootPortal, browserTest, DESKTOP, openPage, PHONE, ready, registerUser } from './browser.js'

const SCREENSHOTS = fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url))

/** How wide the page is, and the elements that stick out past the screen's right edge. */
async function width(page: Page): Promise<{ scrollWidth: number; wide: string[] }> {
  return page.evaluate(() => {
    const screen = document.documentElement.clientWidth
    const wide = [...document.querySelectorAll<HTMLElement>('body *')]
      .filter(
        element =>
          element.getBoundingClientRect().right > screen + 0.5 &&
          element.closest('[hidden], dialog:not([open]), .visually-hidden') === null,
      )
      .map(
        element =>
          `${element.tagName.toLowerCase()}${element.className ? `.${String(element.className).split(' ').join('.')}` : ''} (right ${Math.round(element.getBoundingClientRect().right)})`,
      )
    return { scrollWidth: document.documentElement.scrollWidth, wide: wide.slice(0, 5) }
  })
}

for (const theme of ['default', 'ink'] as const) {
  browserTest(
    `every portal page fits a 390 px phone in the ${theme} theme: nothing wider than the screen, in English and Chinese`,
    async t => {
      const portal = await bootPortal(t, { allow_guest: false }, { theme })
      const session = await registerUser(portal, 'a-rather-long-username-indeed')
      // Data that makes pages wide: a long token name, a few tokens, a month of usage.
      for (const name of ['my laptop at the office, second floor by the window', 'ci', 'phone']) {
        const created = await portal.gateway.inject({
          method: 'POST',
          url: '/api/tokens',
          headers: { authorization: `Bearer ${session.access_token}` },
          payload: { name },
        })
        t.equal(created.statusCode, 201, `token ${name}`)
      }
      for (let day = 0; day < 30; day++) {
        portal.gateway.usage.record({
          createdAt: new Date(Date.now() - day * 86_400_000),
          requestId: `r${day}`,
          ip: '198.51.100.9',
          principalKind: 'user',
          userId: session.user.id,
          model: day % 2 ? 'slow-bot' : 'a-model-with-a-really-long-name-2025-01-01-preview',
          promptTokens: 123_456,
          completionTokens: 654_321,
          estimated: false,
          status: 'success',
          latencyMs: 10,
          endpoint: 'portal',
          stream: true,
        })
      }
      await portal.gateway.usage.flush()

      // The 404 page is visited on purpose: the browser logs its status.
      const visitor = await openPage(t, { baseUrl: portal.url, viewport: PHONE, expected: [/status of 404/] })
      const user = await openPage(t, { baseUrl: portal.url, viewport: PHONE, session })
      const pages: Array<{ path: string; page: Page; ready?: string }> = [
        { path: '/login', page: visitor.page, ready: 'login' },
        { path: '/register', page: visitor.page, ready: 'register' },
        { path: '/no/such/page', page: visitor.page },
        { path: '/', page: user.page, ready: 'chat' },
        { path: '/chat', page: user.page, ready: 'chat' },
        { path: '/models', page: user.page, ready: 'models' },
        { path: '/usage', page: user.page, ready: 'usage' },
        { path: '/tokens', page: user.page, ready: 'tokens' },
        { path: '/account', page: user.page, ready: 'account' },
      ]
      mkdirSync(SCREENSHOTS, { recursive: true })
      for (const lang of ['en', 'zh-CN']) {
        for (const { path, page, ready: name } of pages) {
          await page.goto(`${path}${path.includes('?') ? '&' : '?'}lang=${lang}`)
          if (name) await ready(page, name)
          else await page.waitForSelector('h1')
          if (name === 'usage') await page.click('.usage-details summary')
          const measured = await width(page)
          t.ok(
            measured.scrollWidth <= PHONE.width,
            `${path} (${lang}): ${measured.scrollWidth} px wide at ${PHONE.width} px${measured.wide.length ? `; past the edge: ${measured.wide.join(', ')}` : ''}`,
          )
        }
      }
      if (theme !== 'default') return
      await user.page.goto('/tokens?lang=en')
      await ready(user.page, 'tokens')
      await user.page.screenshot({ path: `${SCREENSHOTS}tokens-phone.png`, fullPage: true })
      // The theme's 404 page, as a browser gets it.
      for (const lang of ['en', 'zh-CN']) {
        for (const [device, viewport] of [
          ['phone', PHONE],
          ['desktop', DESKTOP],
        ] as const) {
          await visitor.page.setViewportSize(viewport)
          await visitor.page.goto(`/no/such/page?lang=${lang}`)
          await visitor.page.screenshot({ path: `${SCREENSHOTS}not-found-${device}-${lang}.png` })
        }
      }
    },
  )
}
