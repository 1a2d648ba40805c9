import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { bootPortal, browserTest, DESKTOP, openChat, openPage, PHONE, ready, until } from './browser.js'

const SCREENSHOTS = fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url))

browserTest('a new user registers, signs in again, picks a model and watches the answer grow', async t => {
  const portal = await bootPortal(t)
  // The wrong password below is answered 401, which the browser logs.
  const { page } = await openPage(t, { baseUrl: portal.url, expected: [/status of 401/] })

  await page.goto('/chat')
  await page.waitForURL(/\/login\?next=%2Fchat$/)
  await page.click('a[href="/register"] >> nth=-1')
  await ready(page, 'register')
  await page.fill('#register-email', 'grace@example.com')
  await page.fill('#register-username', 'grace')
  await page.fill('#register-password', 'correct horse battery')
  await page.fill('#register-password-confirm', 'correct horse battery')
  await page.click('[data-portal-page="register"] button[type="submit"]')
  await ready(page, 'chat')
  t.equal(await page.textContent('.portal-nav [data-role="username"]'), 'grace', 'signed in after registering')

  await page.click('.portal-nav [data-action="logout"]')
  await ready(page, 'login')
  await page.fill('#login-email', 'grace@example.com')
  await page.fill('#login-password', 'wrong password!')
  await page.click('[data-portal-page="login"] button[type="submit"]')
  await page.waitForSelector('[data-portal-page="login"] [data-role="error"]:not([hidden])')
  await page.fill('#login-password', 'correct horse battery')
  await page.click('[data-portal-page="login"] button[type="submit"]')
  await ready(page, 'chat')

  t.same(await page.$$eval('[data-role="model"] option', options => options.map(o => (o as HTMLOptionElement).value)), [
    'slow-bot',
    'thinker',
  ])
  await page.selectOption('[data-role="model"]', 'thinker')
  await page.selectOption('[data-role="model"]', 'slow-bot')

  // Shift+Enter breaks the line and sends nothing.
  await page.click('[data-role="prompt"]')
  await page.keyboard.type('first line')
  await page.keyboard.press('Shift+Enter')
  await page.keyboard.type('second line')
  t.equal(await page.inputValue('[data-role="prompt"]'), 'first line\nsecond line')
  t.equal(portal.provider.calls.length, 0)

  const chatCalls: Array<{ url: string; portalHeader: string | undefined; bearer: boolean }> = []
  page.on('request', request => {
    if (request.url().includes('/chat/completions'))
      chatCalls.push({
        url: new URL(request.url()).pathname,
        portalHeader: request.headers()['x-parley-chat'],
        bearer: /^Bearer prl_/.test(request.headers().authorization ?? ''),
      })
  })
  const words = ['Streaming ', 'answers ', 'grow ', 'word ', 'by ', 'word.']
  portal.provider.reply({
    events: [...words.map(delta => ({ type: 'text' as const, delta })), { type: 'done', finishReason: 'stop' }],
    delayMs: 250,
  })
  await page.keyboard.press('Enter')

  const answer = '[data-role="message-assistant"]'
  await page.waitForSelector(`${answer}[data-state="streaming"] [data-role="message-body"]:has-text("Streaming")`)
  const early = await page.textContent(`${answer} [data-role="message-body"]`)
  t.ok(await page.isVisible('[data-role="stop"]'), 'the stop button shows while streaming')
  await page.waitForSelector(`${answer}[data-state="done"]`, { timeout: 10_000 })
  const final = await page.textContent(`${answer} [data-role="message-body"]`)
  t.equal(final, words.join(''))
  t.ok((early ?? '').length < (final ?? '').length, `the answer grew while streaming (${JSON.stringify(early)} first)`)
  t.equal(await page.textContent('[data-role="message-user"] [data-role="message-body"]'), 'first line\nsecond line')
  t.ok(await page.isHidden('[data-role="stop"]'), 'the stop button hides again')
  t.same(
    chatCalls,
    [{ url: '/v1/chat/completions', portalHeader: '1', bearer: true }],
    "/v1 with the user's chat token and X-Parley-Chat",
  )
  t.equal(portal.provider.calls[0]?.request.model, 'slow-bot')

  // Stop: the stream is aborted in the browser, and the gateway aborts the upstream call.
  portal.provider.reply({
    events: [
      ...Array.from({ length: 40 }, (_, i) => ({ type: 'text' as const, delta: `part${i} ` })),
      { type: 'done', finishReason: 'stop' },
    ],
    delayMs: 200,
  })
  await page.fill('[data-role="prompt"]', 'a long one please')
  await page.keyboard.press('Enter')
  await page.waitForSelector(`${answer} >> nth=1 >> [data-role="message-body"]:has-text("part0")`)
  await page.click('[data-role="stop"]')
  await page.waitForSelector(`${answer}[data-state="stopped"]`)
  await until(() => portal.provider.calls[1]?.aborted === true, 'the upstream call aborted')
  t.ok((portal.provider.calls[1]?.emitted ?? 0) < 40, 'the upstream stopped early')
})

/** The same conversation in each theme, so the screenshots compare like with like. */
for (const theme of ['default', 'ink'] as const) {
  const prefix = theme === 'default' ? 'chat' : `chat-${theme}`
  browserTest(`screenshots of the chat page in the ${theme} theme: desktop light and dark, phone`, async t => {
    const portal = await bootPortal(t, {}, { theme })
    const { page } = await openChat(t, portal, { name: 'grace' })
    await page.selectOption('[data-role="model"]', 'thinker')
    portal.provider.reply({
      events: [
        { type: 'reasoning', delta: 'They want a short example. A function with a default parameter shows the idea.' },
        {
          type: 'text',
          delta:
            'Here is a small **TypeScript** example:\n\n```ts\n// Greets someone, politely by default\nfunction greet(name: string, polite = true): string {\n  return polite ? `Hello, ${name}.` : `Hi ${name}`\n}\n```\n\nCall it as `greet("Ada")`.',
        },
        { type: 'done', finishReason: 'stop' },
      ],
    })
    await page.fill('[data-role="prompt"]', 'Show me a tiny TypeScript function, please.')
    await page.keyboard.press('Enter')
    await page.waitForSelector('[data-role="message-assistant"][data-state="done"]')
    await page.locator('[data-role="prompt"]').blur()
    mkdirSync(SCREENSHOTS, { recursive: true })
    await page.screenshot({ path: `${SCREENSHOTS}${prefix}-desktop.png` })
    await page.emulateMedia({ colorScheme: 'dark' })
    await page.screenshot({ path: `${SCREENSHOTS}${prefix}-desktop-dark.png` })
    await page.emulateMedia({ colorScheme: 'light' })
    await page.setViewportSize(PHONE)
    await page.screenshot({ path: `${SCREENSHOTS}${prefix}-phone.png` })
    await page.setViewportSize(DESKTOP)
    t.pass(`screenshots written to docs/screenshots/${prefix}-*.png`)
  })
}
