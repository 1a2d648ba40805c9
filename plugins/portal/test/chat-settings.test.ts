import { fileURLToPath } from 'node:url'
import { bootPortal, browserTest, DESKTOP, openPage, PHONE, ready, registerUser } from './browser.js'

/*
 * A chat's own system prompt and temperature: set in the popover beside the model picker,
 * sent with every question of that chat (and only that chat), kept with it in browser history,
 * and the caller's language asked for, so a refusal reads like the page.
 */

const SCREENSHOTS = fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url))
const answer = '[data-role="message-assistant"]'
const done = {
  events: [
    { type: 'text' as const, delta: 'Ok.' },
    { type: 'done' as const, finishReason: 'stop' as const },
  ],
}

browserTest('a chat’s system prompt and temperature reach the upstream and stay with the chat', async t => {
  const portal = await bootPortal(t)
  const session = await registerUser(portal)
  const { page } = await openPage(t, { baseUrl: portal.url, session, viewport: DESKTOP })
  await page.goto('/chat')
  await ready(page, 'chat')

  await page.click('[data-role="chat-settings-button"]')
  t.equal(await page.getAttribute('[data-role="chat-settings-button"]', 'aria-expanded'), 'true')
  t.ok(await page.evaluate(() => document.activeElement?.getAttribute('data-role') === 'system-prompt'), 'focus in it')
  await page.fill('[data-role="system-prompt"]', 'You answer like a pirate.')
  await page.fill('[data-role="temperature"]', '0.3')
  await page.keyboard.press('Escape')
  t.ok(await page.isHidden('[data-role="chat-settings"]'), 'Esc closes the popover')
  t.equal(await page.getAttribute('[data-role="chat-settings-button"]', 'data-set'), 'true', 'the button shows it')

  portal.provider.reply(done)
  await page.fill('[data-role="prompt"]', 'Hello')
  await page.keyboard.press('Enter')
  await page.waitForSelector(`${answer}[data-state="done"]`)
  const first = portal.provider.calls[0]?.request
  t.same(
    first?.messages.map(m => [m.role, m.content]),
    [
      ['system', 'You answer like a pirate.'],
      ['user', 'Hello'],
    ],
    'the system prompt goes first',
  )
  t.equal(first?.parameters.temperature, 0.3, 'the temperature is sent')

  // A new chat starts without them; the first chat keeps them across a reload.
  await page.click('[data-action="new-chat"]')
  t.equal(await page.getAttribute('[data-role="chat-settings-button"]', 'data-set'), 'false')
  portal.provider.reply(done)
  await page.fill('[data-role="prompt"]', 'Plain')
  await page.keyboard.press('Enter')
  await page.waitForFunction(
    () => document.querySelectorAll('[data-role="message-assistant"][data-state="done"]').length === 1,
  )
  const second = portal.provider.calls[1]?.request
  t.same(
    second?.messages.map(m => m.role),
    ['user'],
  )
  t.equal(second?.parameters.temperature, undefined, "the model's default")

  await page.reload()
  await ready(page, 'chat')
  await page.click('.chat-list-item >> text=Hello')
  await page.click('[data-role="chat-settings-button"]')
  t.equal(await page.inputValue('[data-role="system-prompt"]'), 'You answer like a pirate.', 'kept in history')
  t.equal(await page.inputValue('[data-role="temperature"]'), '0.3')
  await page.fill('[data-role="temperature"]', '5')
  t.equal(await page.getAttribute('[data-role="temperature"]', 'aria-invalid'), 'true', 'out of range is marked')
  await page.fill('[data-role="temperature"]', '1.2')
  portal.provider.reply(done)
  await page.fill('[data-role="prompt"]', 'Again')
  await page.keyboard.press('Enter')
  // Answers read back from history carry no state: the new one is the log's last item.
  await page.waitForFunction(
    () => (document.querySelector('[data-role="log"] > :last-child') as HTMLElement | null)?.dataset.state === 'done',
  )
  const third = portal.provider.calls[2]?.request
  t.equal(third?.messages[0]?.role, 'system')
  t.equal(third?.parameters.temperature, 1.2, 'an edit applies to the next question')
})

for (const language of ['en', 'zh-CN'] as const)
  for (const [device, viewport] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const)
    browserTest(`the chat settings popover (${language}, ${device})`, async t => {
      const portal = await bootPortal(t)
      const session = await registerUser(portal, `ada${device}`)
      const { page } = await openPage(t, { baseUrl: portal.url, session, viewport })
      await page.goto(`/chat?lang=${language}`)
      await ready(page, 'chat')
      await page.click('[data-role="chat-settings-button"]')
      await page.fill('[data-role="system-prompt"]', language === 'en' ? 'Answer briefly.' : '请简短回答。')
      await page.fill('[data-role="temperature"]', '0.7')
      t.match(await page.textContent('[data-role="chat-settings"]'), language === 'en' ? /System prompt/ : /系统提示词/)
      const box = await page.$eval('[data-role="chat-settings"]', el => {
        const rect = el.getBoundingClientRect()
        return { left: rect.left, right: rect.right }
      })
      t.ok(box.left >= 0 && box.right <= viewport.width, `the popover fits the screen (${box.left}–${box.right})`)
      t.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no page wider')
      await page.screenshot({ path: `${SCREENSHOTS}chat-settings-${device}-${language}.png` })
    })
