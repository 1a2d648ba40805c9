import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { bootPortal, browserTest, openChat, PHONE, ready } from './browser.js'

const SCREENSHOTS = fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url))

/** The page's background colour as painted (the theme's --bg on body). */
const background = (page: Page) => page.evaluate(() => getComputedStyle(document.body).backgroundColor)
const mode = (page: Page) => page.evaluate(() => document.documentElement.dataset.theme)
const current = (page: Page) =>
  page.$$eval('[data-color-mode][aria-current="true"]', links =>
    links.map(link => (link as HTMLElement).dataset.colorMode),
  )

const LIGHT = 'rgb(247, 247, 248)'
const DARK = 'rgb(17, 18, 20)'

browserTest(
  'light, dark or the system: switched at once, remembered in a cookie and localStorage, painted right from the first frame',
  async t => {
    const portal = await bootPortal(t)
    const { page, context } = await openChat(t, portal, { name: 'grace' })
    await page.emulateMedia({ colorScheme: 'dark' })
    t.equal(await mode(page), 'system', 'nothing chosen yet: the system')
    t.same(await current(page), ['system'])
    t.equal(await background(page), DARK, 'the system is dark')
    await page.emulateMedia({ colorScheme: 'light' })
    t.equal(await background(page), LIGHT, 'and follows it')

    await page.click('[data-color-mode="dark"]')
    t.equal(await mode(page), 'dark', 'a click switches at once')
    t.equal(new URL(page.url()).search, '', 'without a reload')
    t.equal(await background(page), DARK, 'dark although the system is light')
    t.same(await current(page), ['dark'])
    t.equal(await page.evaluate(() => localStorage.getItem('parley.color_mode')), 'dark', 'remembered in localStorage')
    t.match(
      (await context.cookies()).find(cookie => cookie.name === 'color_mode'),
      { value: 'dark', path: '/', sameSite: 'Lax' },
      'and in the cookie the server reads',
    )
    await page.screenshot({ path: `${SCREENSHOTS}chat-desktop-dark-chosen.png` })

    // No flash: the server paints the choice; the page is dark with scripts off altogether.
    const response = await page.goto('/tokens')
    t.match(await response?.text(), /<html [^>]*data-theme="dark"/, 'the server printed the choice')
    const plain = await context.browser()?.newContext({ javaScriptEnabled: false, baseURL: portal.url })
    t.teardown(() => plain?.close())
    await plain?.addCookies([{ name: 'color_mode', value: 'dark', url: portal.url }])
    const still = await plain?.newPage()
    await still?.goto('/login')
    t.equal(still ? await background(still) : '', DARK, 'dark before and without any script')

    // The links work without the script too: the server takes ?color_mode= and remembers it.
    await still?.click('[data-color-mode="light"]')
    await still?.waitForURL(/\?color_mode=light$/)
    t.equal(still ? await background(still) : '', LIGHT)
    t.match(
      (await plain?.cookies())?.find(cookie => cookie.name === 'color_mode'),
      { value: 'light' },
    )

    // The cookie gone (cleared, expired), localStorage still remembers: the choice comes back.
    await context.clearCookies({ name: 'color_mode' })
    await page.goto('/tokens')
    await ready(page, 'tokens')
    t.equal(await mode(page), 'dark', 'restored from localStorage')
    t.match(
      (await context.cookies()).find(cookie => cookie.name === 'color_mode'),
      { value: 'dark' },
      'and the cookie is back for the next page',
    )

    await page.click('[data-color-mode="system"]')
    t.equal(await background(page), LIGHT, 'back to the (light) system')
    await page.goto('/chat')
    await ready(page, 'chat')
    t.equal(await mode(page), 'system')
    await page.setViewportSize(PHONE)
    t.ok(await page.isVisible('[data-color-mode="dark"]'), 'the switch is there on a phone')
  },
)

browserTest(
  'the ink theme: dark paper by default, ink on light paper when chosen or when the system is light',
  async t => {
    const portal = await bootPortal(t, {}, { theme: 'ink' })
    const { page } = await openChat(t, portal, { name: 'grace' })
    const INK = 'rgb(21, 19, 15)'
    const PAPER = 'rgb(245, 240, 230)'
    t.equal(await mode(page), 'dark', "ink's own default")
    t.same(await current(page), ['dark'])
    t.equal(await background(page), INK)
    await page.click('[data-color-mode="light"]')
    t.equal(await background(page), PAPER, 'light paper')
    await page.screenshot({ path: `${SCREENSHOTS}chat-ink-desktop-light.png` })
    await page.click('[data-color-mode="system"]')
    await page.emulateMedia({ colorScheme: 'light' })
    t.equal(await background(page), PAPER, 'the light system')
    await page.emulateMedia({ colorScheme: 'dark' })
    t.equal(await background(page), INK, 'the dark system')
    await page.setViewportSize(PHONE)
    await page.emulateMedia({ colorScheme: 'light' })
    await page.screenshot({ path: `${SCREENSHOTS}chat-ink-phone-light.png` })
  },
)
