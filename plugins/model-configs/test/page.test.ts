import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import identity from '@parley/identity'
import modelConfigs from '@parley/model-configs'
import openai from '@parley/openai'
import portal, { buildClient } from '@parley/portal'
import rateLimit from '@parley/rate-limit'
import { createTestGateway, startMockUpstream, waitForRows } from '@parley/core/testing'
import { browserTest, DESKTOP, openPage, PHONE } from '@parley/core/testing/browser'
import { ADMIN, member, setQuota } from './helpers.js'

// The portal's "My models" page (/models/mine) against the real plugin and a mock upstream:
// add, test, edit, delete; the chat page picks a personal model and streams its answer.
// Screenshots: desktop and phone, English and Chinese.

const SCREENSHOTS = fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url))
const KEY = 'sk-proj-page-test-key-00000000wxyz'

browserTest('my models: add, test, edit, chat with it, delete', async t => {
  await buildClient()
  const upstream = await startMockUpstream({ keys: [KEY] })
  t.teardown(upstream.close)
  const gateway = await createTestGateway({
    plugins: [identity, openai, rateLimit, portal, modelConfigs],
    listen: true,
    config: { admin: ADMIN },
  })
  t.teardown(gateway.close)
  const login = await gateway.inject({ method: 'POST', url: '/api/auth/admin/login', payload: ADMIN })
  await setQuota({ gateway, admin: (login.json() as { access_token: string }).access_token }, 3)
  const user = await member(gateway, 'mei')
  const session = await gateway.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { email: 'mei@example.com', password: 'staple-battery-for-tests' },
  })
  const { page } = await openPage(t, {
    baseUrl: gateway.url ?? '',
    prepare: context => context.addInitScript(value => localStorage.setItem('parley.session', value), session.body),
  })
  const ready = () => page.waitForSelector('[data-portal-page="model-configs"][data-ready="true"]')

  await page.goto('/models/mine?lang=en')
  await ready()
  t.equal(await page.textContent('[data-role="quota"]'), '0 of 3 allowed for your group')
  await page.click('[data-action="add"]')
  await page.fill('#config-name', 'My mock')
  await page.fill('#config-base-url', upstream.url)
  await page.fill('#config-model', 'mock-model')
  await page.fill('#config-key', KEY)
  await page.fill('input[name="temperature"]', '0.4')
  await page.fill('#config-system', 'Answer in one word.')
  await page.click('[data-role="form"] button[type="submit"]')
  await page.waitForSelector('.model-card h2:has-text("My mock")')
  t.match(await page.textContent('.model-card .model-id'), 'sk-…wxyz', 'the key hint, never the key')
  t.notOk((await page.content()).includes(KEY))

  await page.click('.model-card button:has-text("Test")')
  await page.waitForSelector('.config-test:has-text("It answered: ok")')

  await page.click('.model-card button:has-text("Edit")')
  t.equal(await page.inputValue('#config-key'), '', 'the key field starts empty')
  t.equal(await page.inputValue('input[name="temperature"]'), '0.4')
  await page.fill('#config-name', 'Renamed mock')
  await page.click('[data-role="form"] button[type="submit"]')
  await page.waitForSelector('.model-card h2:has-text("Renamed mock")')
  t.equal(upstream.requests.at(-1)?.apiKey, KEY)

  mkdirSync(SCREENSHOTS, { recursive: true })
  for (const lang of ['en', 'zh-CN']) {
    for (const [device, viewport] of [
      ['desktop', DESKTOP],
      ['phone', PHONE],
    ] as const) {
      await page.setViewportSize(viewport)
      await page.goto(`/models/mine?lang=${lang}`)
      await ready()
      await page.click('.model-card button[type="button"]:nth-of-type(2)') // Edit: the form shows too
      const width = await page.evaluate<number>('document.documentElement.scrollWidth')
      t.ok(width <= viewport.width, `${device} ${lang}: ${width} px wide`)
      await page.screenshot({ path: `${SCREENSHOTS}model-configs-${device}-${lang}.png`, fullPage: true })
    }
  }
  await page.setViewportSize(DESKTOP)

  // The chat page offers it and streams its answer; the model page links to it.
  const id = (await user.call('GET', '/api/model-configs')).body.items[0].id as number
  await page.goto(`/chat?model=personal:${id}&lang=en`)
  await page.waitForSelector('[data-portal-page="chat"][data-ready="true"]')
  t.equal(await page.inputValue('[data-role="model"]'), `personal:${id}`)
  t.equal(await page.textContent(`[data-role="model"] option[value="personal:${id}"]`), 'Renamed mock · Mine')
  await page.fill('[data-role="prompt"]', 'Hello')
  await page.keyboard.press('Enter')
  await page.waitForSelector('[data-role="message-assistant"][data-state="done"]', { timeout: 10_000 })
  t.equal((await page.textContent('[data-role="message-assistant"] [data-role="message-body"]'))?.trim(), 'ok')
  const rows = await waitForRows(gateway, 2)
  t.match(rows.at(-1), { channel_name: `model-config:${id}`, endpoint: 'portal', status: 'success' })
  t.match(upstream.requests.at(-1)?.body, { model: 'mock-model', temperature: 0.4 })

  await page.goto('/models?lang=en')
  await page.waitForSelector('[data-portal-page="models"][data-ready="true"]')
  t.notOk(await page.isHidden('[data-role="mine-link"]'), 'a signed-in user sees the link to My models')
  t.ok(await page.isVisible(`[data-model="personal:${id}"] [data-flag="personal"]`))

  await page.goto('/models/mine?lang=en')
  await ready()
  page.once('dialog', dialog => void dialog.accept())
  await page.click('.model-card button:has-text("Delete")')
  await page.waitForSelector('[data-role="empty"]:not([hidden])')
  t.same((await user.call('GET', '/api/model-configs')).body.items, [])
})
