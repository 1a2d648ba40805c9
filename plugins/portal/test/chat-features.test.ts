import { bootPortal, browserTest, openChat, openPage, ready, registerUser } from './browser.js'

const answer = '[data-role="message-assistant"]'

browserTest('a reasoning answer shows the thinking panel, collapsible, above the answer', async t => {
  const portal = await bootPortal(t)
  const { page } = await openChat(t, portal)
  await page.selectOption('[data-role="model"]', 'thinker')
  portal.provider.reply({
    events: [
      { type: 'reasoning', delta: 'The user greets me. ' },
      { type: 'reasoning', delta: 'I should greet back.' },
      { type: 'text', delta: 'Hello!' },
      { type: 'done', finishReason: 'stop' },
    ],
    delayMs: 150,
  })
  await page.fill('[data-role="prompt"]', 'Hi')
  await page.keyboard.press('Enter')
  await page.waitForSelector(`${answer} [data-role="thinking"]:visible`)
  await page.waitForSelector(`${answer}[data-state="done"]`)
  t.equal(
    await page.textContent(`${answer} [data-role="thinking"] .chat-thinking-text`),
    'The user greets me. I should greet back.',
  )
  t.equal(await page.textContent(`${answer} [data-role="message-body"]`), 'Hello!')
  await page.click(`${answer} [data-role="thinking"] summary`)
  t.notOk(
    await page.$eval(`${answer} [data-role="thinking"]`, el => (el as HTMLDetailsElement).open),
    'the panel collapses',
  )
  t.ok(await page.isHidden(`${answer} .chat-thinking-text`))
  t.equal(portal.provider.calls[0]?.request.model, 'thinker')
})

browserTest('a rate limit shows its dialog with a countdown; an upstream error shows its dialog', async t => {
  const portal = await bootPortal(t, { user_rpm: 1 })
  const { page } = await openChat(t, portal, { expected: [/status of 429/, /status of 502/] })
  await page.fill('[data-role="prompt"]', 'one')
  await page.keyboard.press('Enter')
  await page.waitForSelector(`${answer}[data-state="done"]`)

  await page.fill('[data-role="prompt"]', 'two')
  await page.keyboard.press('Enter')
  await page.waitForSelector('dialog[data-role="dialog"][open][data-error-type="rate_limit_exceeded"]')
  t.equal(await page.textContent('[data-role="dialog-title"]'), 'Slow down a little')
  t.match(await page.textContent('[data-role="dialog-countdown"]'), /^You can send again in \d+ s\.$/)
  const first = Number(/(\d+)/.exec((await page.textContent('[data-role="dialog-countdown"]')) ?? '')?.[1])
  t.ok(first > 0 && first <= 60, `retry_after counts down from ${first}`)
  await page.waitForFunction(
    start => !document.querySelector('[data-role="dialog-countdown"]')?.textContent?.includes(`${start} s`),
    first,
    { timeout: 3000 },
  )
  t.equal(await page.inputValue('[data-role="prompt"]'), 'two', 'the refused question is back in the box')
  t.equal(await page.locator(answer).count(), 1, 'no empty answer is left behind')
  await page.click('dialog[data-role="dialog"] button[value="close"]')
  t.notOk(await page.$eval('dialog[data-role="dialog"]', el => (el as HTMLDialogElement).open), 'the dialog closes')

  await portal.gateway.settings.set('user_rpm', 0)
  portal.provider.reply({
    events: [{ type: 'error', message: 'the model is overloaded', status: 502, retryable: false }],
  })
  await page.keyboard.press('Enter')
  await page.waitForSelector('dialog[data-role="dialog"][open][data-error-type="upstream_error"]')
  t.equal(await page.textContent('[data-role="dialog-title"]'), 'The model is not answering')
  t.equal(await page.textContent('[data-role="dialog-countdown"]'), '')
})

browserTest('browser history survives a reload; clear-all empties it', async t => {
  const portal = await bootPortal(t)
  const { page } = await openChat(t, portal)
  t.match(await page.textContent('[data-role="privacy-text"]'), /kept in this browser only/)
  portal.provider.reply({
    events: [
      { type: 'text', delta: 'Remembered.' },
      { type: 'done', finishReason: 'stop' },
    ],
  })
  await page.fill('[data-role="prompt"]', 'Remember me')
  await page.keyboard.press('Enter')
  await page.waitForSelector(`${answer}[data-state="done"]`)

  await page.reload()
  await ready(page, 'chat')
  t.same(await page.$$eval('.chat-list-item', items => items.map(item => item.textContent)), ['Remember me'])
  t.equal(await page.locator('[data-role="log"] > li').count(), 0, 'a reload starts a new chat')
  await page.click('.chat-list-item')
  t.same(
    await page.$$eval('[data-role="log"] [data-role="message-body"]', items => items.map(item => item.textContent)),
    ['Remember me', 'Remembered.'],
  )

  // Continuing the conversation sends its history along.
  portal.provider.reply({
    events: [
      { type: 'text', delta: 'Still here.' },
      { type: 'done', finishReason: 'stop' },
    ],
  })
  await page.fill('[data-role="prompt"]', 'And now?')
  await page.keyboard.press('Enter')
  await page.waitForSelector(`${answer} >> nth=1 >> text=Still here.`)
  t.same(
    portal.provider.calls[1]?.request.messages.map(m => [m.role, m.content]),
    [
      ['user', 'Remember me'],
      ['assistant', 'Remembered.'],
      ['user', 'And now?'],
    ],
  )

  page.once('dialog', dialog => void dialog.accept())
  await page.click('[data-action="clear-all"]')
  t.equal(await page.locator('.chat-list-item').count(), 0)
  t.equal(await page.locator('[data-role="log"] > li').count(), 0)
  await page.reload()
  await ready(page, 'chat')
  t.equal(await page.locator('.chat-list-item').count(), 0, 'still empty after a reload')
  t.equal(
    await page.evaluate(() => Object.keys(localStorage).filter(key => key.startsWith('parley.history')).length),
    0,
  )
})

browserTest('memory history is gone on reload', async t => {
  const portal = await bootPortal(t, { chat_history_mode: 'memory' })
  const { page } = await openChat(t, portal)
  t.match(await page.textContent('[data-role="privacy-text"]'), /not saved/)
  await page.fill('[data-role="prompt"]', 'Forget me')
  await page.keyboard.press('Enter')
  await page.waitForSelector(`${answer}[data-state="done"]`)
  t.equal(await page.locator('.chat-list-item').count(), 1)
  await page.reload()
  await ready(page, 'chat')
  t.equal(await page.locator('.chat-list-item').count(), 0)
})

browserTest('a guest chats when guest access is on, and is sent to sign in when it is off', async t => {
  const portal = await bootPortal(t, { allow_guest: true })
  const { page } = await openPage(t, { baseUrl: portal.url })
  const paths: string[] = []
  page.on('request', request => {
    if (request.url().includes('/chat/completions')) paths.push(new URL(request.url()).pathname)
  })
  await page.goto('/')
  await ready(page, 'chat')
  t.ok(await page.isVisible('.portal-nav a[href="/login"]'), 'a guest sees the sign-in link')
  portal.provider.reply({
    events: [
      { type: 'text', delta: 'Hello, guest.' },
      { type: 'done', finishReason: 'stop' },
    ],
  })
  await page.fill('[data-role="prompt"]', 'Hi, I am a guest')
  await page.keyboard.press('Enter')
  await page.waitForSelector(`${answer}[data-state="done"]`)
  t.equal(await page.textContent(`${answer} [data-role="message-body"]`), 'Hello, guest.')
  t.same(paths, ['/api/chat/completions'])
  t.equal(
    portal.provider.calls[0]?.userKey.startsWith('guest'),
    true,
    `a guest call (${portal.provider.calls[0]?.userKey})`,
  )

  await portal.gateway.settings.set('allow_guest', false)
  await page.goto('/chat')
  await page.waitForURL(/\/login\?next=%2Fchat$/)
  await ready(page, 'login')
})

browserTest('new chat, copy and regenerate', async t => {
  const portal = await bootPortal(t)
  const session = await registerUser(portal)
  const { page, context } = await openPage(t, { baseUrl: portal.url, session })
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: portal.url })
  await page.goto('/chat')
  await ready(page, 'chat')
  portal.provider.reply({
    events: [
      { type: 'text', delta: 'First try.' },
      { type: 'done', finishReason: 'stop' },
    ],
  })
  await page.fill('[data-role="prompt"]', 'Tell me something')
  await page.keyboard.press('Enter')
  await page.waitForSelector(`${answer}[data-state="done"]`)

  await page.click(`${answer} [data-action="copy"]`)
  await page.waitForSelector(`${answer} [data-action="copy"]:has-text("Copied.")`)
  t.equal(await page.evaluate(() => navigator.clipboard.readText()), 'First try.')

  portal.provider.reply({
    events: [
      { type: 'text', delta: 'Second try.' },
      { type: 'done', finishReason: 'stop' },
    ],
  })
  await page.click(`${answer} [data-action="regenerate"]`)
  await page.waitForSelector(`${answer}[data-state="done"] >> text=Second try.`)
  t.same(
    await page.$$eval('[data-role="log"] [data-role="message-body"]', nodes => nodes.map(node => node.textContent)),
    ['Tell me something', 'Second try.'],
  )
  t.same(
    portal.provider.calls[1]?.request.messages.map(m => [m.role, m.content]),
    [['user', 'Tell me something']],
    'the same question, without the dropped answer',
  )
  t.equal(await page.inputValue('[data-role="prompt"]'), '', 'the box is left alone')

  await page.click('[data-action="new-chat"]')
  t.equal(await page.locator('[data-role="log"] > li').count(), 0)
  portal.provider.reply({
    events: [
      { type: 'text', delta: 'Fresh.' },
      { type: 'done', finishReason: 'stop' },
    ],
  })
  await page.fill('[data-role="prompt"]', 'Another topic')
  await page.keyboard.press('Enter')
  await page.waitForSelector(`${answer}[data-state="done"] >> text=Fresh.`)
  t.same(
    portal.provider.calls[2]?.request.messages.map(m => m.content),
    ['Another topic'],
    'a new chat sends no earlier messages',
  )
  t.same(
    await page.$$eval('.chat-list-item', items => items.map(item => item.textContent)),
    ['Another topic', 'Tell me something'],
    'newest first',
  )
  const history = await page.evaluate(
    () =>
      JSON.parse(
        localStorage.getItem(Object.keys(localStorage).find(key => key.startsWith('parley.history')) ?? '') ?? '[]',
      ) as Array<{ messages: Array<{ content: string }> }>,
  )
  t.same(history.map(c => c.messages.map(m => m.content)).sort(), [
    ['Another topic', 'Fresh.'],
    ['Tell me something', 'Second try.'],
  ])
})
