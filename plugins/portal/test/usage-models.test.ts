import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import type { UsageRecord } from '@parley/core'
import {
  bootPortal,
  browserTest,
  DESKTOP,
  openPage,
  PHONE,
  ready,
  registerUser,
  until,
  type Portal,
} from './browser.js'

const SCREENSHOTS = fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url))
const HOUR = 3_600_000
const DAY = 24 * HOUR

let requests = 0
const call = (userId: number, model: string, ago: number, prompt: number, completion: number): UsageRecord => ({
  createdAt: new Date(Date.now() - ago),
  requestId: `seed-${++requests}`,
  ip: '198.51.100.4',
  principalKind: 'user',
  userId,
  username: `user-${userId}`,
  model,
  promptTokens: prompt,
  completionTokens: completion,
  estimated: false,
  status: 'success',
  latencyMs: 800,
  endpoint: 'portal',
  stream: true,
})

/** A month of someone's calls: a few a day on most days, two models. */
async function seedMonth(
  portal: Portal,
  userId: number,
): Promise<{ calls: number; prompt: number; completion: number }> {
  const totals = { calls: 0, prompt: 0, completion: 0 }
  // Each day's calls fall between that date's midnight (UTC, the site's time zone) and the time
  // of day it is now: none slips into the date before, whatever the hour the test runs.
  const sinceMidnight = Date.now() % DAY
  for (let day = 0; day < 30; day++) {
    if (day % 7 === 3) continue // a quiet day now and then
    const calls = 1 + ((day * 7) % 5)
    for (let n = 0; n < calls; n++) {
      const model = n % 3 === 0 ? 'thinker' : 'slow-bot'
      const prompt = 200 + day * 13 + n * 31
      const completion = 400 + ((day * 97 + n * 53) % 900)
      const ago = day * DAY + Math.floor((sinceMidnight * (n + 1)) / (calls + 1))
      portal.gateway.usage.record(call(userId, model, ago, prompt, completion))
      totals.calls += 1
      totals.prompt += prompt
      totals.completion += completion
    }
  }
  await portal.gateway.usage.flush()
  return totals
}

const shot = async (page: Page, name: string) => {
  mkdirSync(SCREENSHOTS, { recursive: true })
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true })
}

browserTest("the usage page: a user's own calls and tokens by day and by model, never another user's", async t => {
  const portal = await bootPortal(t)
  const ada = await registerUser(portal, 'ada')
  const bob = await registerUser(portal, 'bob')
  const totals = await seedMonth(portal, ada.user.id)
  portal.gateway.usage.record(call(bob.user.id, 'bobs-private-model', HOUR, 999_999, 999_999))
  await portal.gateway.usage.flush()

  const visitor = await openPage(t, { baseUrl: portal.url })
  await visitor.page.goto('/usage')
  await visitor.page.waitForURL(/\/login\?next=%2Fusage$/)

  const { page } = await openPage(t, { baseUrl: portal.url, session: ada })
  await page.goto('/usage')
  await ready(page, 'usage')
  const number = (selector: string) =>
    page.textContent(selector).then(value => Number((value ?? '').replace(/[^\d]/g, '')))
  t.equal(await number('[data-role="total-calls"]'), totals.calls, 'every call of the 30 days')
  t.equal(await number('[data-role="total-prompt"]'), totals.prompt)
  t.equal(await number('[data-role="total-completion"]'), totals.completion)
  t.same(
    await page
      .$$eval('[data-role="models"] tr th', cells => cells.map(cell => cell.textContent))
      .then(names => names.sort()),
    ['slow-bot', 'thinker'],
    'her two models',
  )
  t.notMatch(await page.textContent('main'), /bobs-private-model|999[,.]?999/, "nothing of bob's")
  t.equal(await page.locator('.usage-bar').count(), 30, 'a bar per day')
  t.equal(await page.locator('[data-role="daily"] tr').count(), 30, 'and a table row per day')
  const tokens = await page.$$eval('.usage-bar', bars => bars.map(bar => Number((bar as HTMLElement).dataset.value)))
  t.equal(
    tokens.reduce((a, b) => a + b, 0),
    totals.prompt + totals.completion,
    'the bars add up to the tokens',
  )
  t.match(
    await page.getAttribute('[data-role="chart"]', 'aria-label'),
    /^Tokens per day, \d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d: [\d,]+ in all, at most [\d,]+ in a day$/,
    'the chart says its numbers',
  )

  await page.check('[data-role="metric"][value="calls"]')
  const calls = await page.$$eval('.usage-bar', bars => bars.map(bar => Number((bar as HTMLElement).dataset.value)))
  t.equal(
    calls.reduce((a, b) => a + b, 0),
    totals.calls,
    'the calls view',
  )
  t.ok(calls.includes(0), 'quiet days are bars of zero')

  await page.selectOption('[data-role="days"]', '7')
  await page.waitForFunction(() => document.querySelectorAll('.usage-bar').length === 7)
  t.ok((await number('[data-role="total-calls"]')) < totals.calls, 'seven days count fewer calls')
  await page.selectOption('[data-role="days"]', '30')
  await page.waitForFunction(() => document.querySelectorAll('.usage-bar').length === 30)
  await page.check('[data-role="metric"][value="tokens"]')

  await shot(page, 'usage-desktop-en')
  await page.setViewportSize(PHONE)
  await shot(page, 'usage-phone-en')
  await page.goto('/usage?lang=zh-CN')
  await ready(page, 'usage')
  t.equal(await page.textContent('h1'), '我的用量')
  t.match(await page.getAttribute('[data-role="chart"]', 'aria-label'), /^每天的Token 数/)
  await shot(page, 'usage-phone-zh-CN')
  await page.setViewportSize(DESKTOP)
  await shot(page, 'usage-desktop-zh-CN')

  const empty = await openPage(t, { baseUrl: portal.url, session: bob })
  await empty.page.goto('/usage')
  await ready(empty.page, 'usage')
  t.same(
    await empty.page.$$eval('[data-role="models"] tr th', cells => cells.map(cell => cell.textContent)),
    ['bobs-private-model'],
    'bob sees his own',
  )
})

browserTest(
  'the models page: display names, ids, reasoning and vision; "Chat with it" opens the chat on that model',
  async t => {
    const portal = await bootPortal(t)
    const auth = { authorization: `Bearer ${portal.adminToken}` }
    for (const [name, body] of [
      ['thinker', { display_name: 'Thinker R1', reasoning: true }],
      ['slow-bot', { display_name: 'Slow Bot Vision', vision: true }],
    ] as const) {
      const response = await portal.gateway.inject({
        method: 'PUT',
        url: `/api/admin/models/${name}`,
        headers: auth,
        payload: body,
      })
      t.equal(response.statusCode, 200, `${name} described`)
    }
    await until(
      () => portal.gateway.catalog.current().models.get('thinker')?.reasoning === true,
      'the described models in the routing snapshot',
    )
    const ada = await registerUser(portal, 'ada')

    const visitor = await openPage(t, { baseUrl: portal.url })
    await visitor.page.goto('/models')
    await visitor.page.waitForURL(/\/login\?next=%2Fmodels$/)

    const { page } = await openPage(t, { baseUrl: portal.url, session: ada })
    await page.goto('/models')
    await ready(page, 'models')
    const cards = await page.$$eval('.model-card', items =>
      items.map(item => ({
        model: (item as HTMLElement).dataset.model,
        name: item.querySelector('.model-name')?.textContent,
        id: item.querySelector('.model-id code')?.textContent,
        flags: [...item.querySelectorAll('[data-flag]')].map(flag => (flag as HTMLElement).dataset.flag),
      })),
    )
    t.same(cards, [
      { model: 'slow-bot', name: 'Slow Bot Vision', id: 'slow-bot', flags: ['vision'] },
      { model: 'thinker', name: 'Thinker R1', id: 'thinker', flags: ['reasoning'] },
    ])
    t.equal(
      await page.getAttribute('.model-card[data-model="thinker"] [data-flag="reasoning"]', 'title'),
      'Thinks before it answers; the chat shows its thinking',
    )
    await shot(page, 'models-desktop-en')
    await page.setViewportSize(PHONE)
    await shot(page, 'models-phone-en')
    await page.goto('/models?lang=zh-CN')
    await ready(page, 'models')
    t.equal(
      await page.textContent('.model-card[data-model="thinker"] [data-flag="reasoning"]'),
      '推理：先思考再回答；对话页会显示思考过程',
    )
    await shot(page, 'models-phone-zh-CN')
    await page.setViewportSize(DESKTOP)
    await shot(page, 'models-desktop-zh-CN')

    await page.goto('/models?lang=en')
    await ready(page, 'models')
    await page.click('.model-card[data-model="thinker"] a:has-text("Chat with it")')
    await ready(page, 'chat')
    t.equal(new URL(page.url()).pathname + new URL(page.url()).search, '/chat?model=thinker')
    t.equal(await page.inputValue('[data-role="model"]'), 'thinker', 'the chat opens on that model')
  },
)
