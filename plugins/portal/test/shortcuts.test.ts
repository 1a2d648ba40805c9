import { fileURLToPath } from 'node:url'
import { bootPortal, browserTest, openChat, ready, until } from './browser.js'

const SCREENSHOTS = fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url))
const answer = '[data-role="message-assistant"]'

browserTest('keyboard shortcuts: new chat, focus the box, stop the stream, and the list of them', async t => {
  const portal = await bootPortal(t)
  const { page } = await openChat(t, portal)
  const focused = () =>
    page.evaluate(() => document.activeElement?.getAttribute('data-role') ?? document.activeElement?.tagName)

  // ? lists the shortcuts; Esc closes the list.
  await page.locator('body').click({ position: { x: 5, y: 5 } })
  await page.keyboard.press('?')
  await page.waitForSelector('[data-role="shortcuts"][open]')
  t.same(
    await page.$$eval('[data-role="shortcuts"] [data-shortcut]', rows =>
      rows.map(row => (row as HTMLElement).dataset.shortcut),
    ),
    ['new-chat', 'focus', 'stop', 'send', 'help'],
  )
  t.match(await page.textContent('[data-shortcut="new-chat"] dt'), /Ctrl \+ Shift \+ O/)
  await page.screenshot({ path: `${SCREENSHOTS}chat-shortcuts-en.png` })
  await page.keyboard.press('Escape')
  await page.waitForFunction(() => !(document.querySelector('[data-role="shortcuts"]') as HTMLDialogElement).open)
  await page.click('[data-action="shortcuts"]')
  await page.waitForSelector('[data-role="shortcuts"][open]')
  await page.click('[data-role="shortcuts"] button[value="close"]')

  // / and Shift+Esc go to the message box; typed in a field, / is just a character.
  await page.locator('body').click({ position: { x: 5, y: 5 } })
  await page.keyboard.press('/')
  t.equal(await focused(), 'prompt', '/ focuses the message box')
  await page.keyboard.type('a/b?')
  t.equal(await page.inputValue('[data-role="prompt"]'), 'a/b?', 'inside the box / and ? are text')
  await page.focus('[data-role="model"]')
  await page.keyboard.press('Shift+Escape')
  t.equal(await focused(), 'prompt', 'Shift+Esc focuses the message box from anywhere')

  // Esc while an answer streams stops it, and the gateway aborts the upstream call.
  await page.fill('[data-role="prompt"]', 'a long one')
  portal.provider.reply({
    events: [
      ...Array.from({ length: 40 }, (_, i) => ({ type: 'text' as const, delta: `part${i} ` })),
      { type: 'done', finishReason: 'stop' },
    ],
    delayMs: 150,
  })
  await page.keyboard.press('Enter')
  await page.waitForSelector(`${answer} [data-role="message-body"]:has-text("part0")`)
  await page.keyboard.press('Escape')
  await page.waitForSelector(`${answer}[data-state="stopped"]`)
  await until(() => portal.provider.calls[0]?.aborted === true, 'the upstream call aborted')
  t.ok((portal.provider.calls[0]?.emitted ?? 0) < 40, 'stopped early')
  t.equal(await page.locator('[data-role="log"] > li').count(), 2, 'the question and the partial answer stay')

  // Ctrl+Shift+O starts a new chat; the old one stays in the list.
  await page.keyboard.press('Control+Shift+O')
  await page.waitForFunction(() => document.querySelectorAll('[data-role="log"] > li').length === 0)
  t.equal(await focused(), 'prompt', 'ready to type')
  t.equal(await page.locator('[data-role="conversations"] li').count(), 1, 'the previous conversation is kept')
  t.equal(await page.locator('[data-role="conversations"] [aria-current="true"]').count(), 0, 'and no longer open')

  await page.goto('/chat?lang=zh-CN')
  await ready(page, 'chat')
  await page.click('[data-action="shortcuts"]')
  await page.waitForSelector('[data-role="shortcuts"][open]')
  t.equal(await page.textContent('#shortcuts-title'), '键盘快捷键')
  await page.screenshot({ path: `${SCREENSHOTS}chat-shortcuts-zh-CN.png` })
})
