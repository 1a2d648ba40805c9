import type { Page } from 'playwright-core'
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

// The tokens page sets an API token's limits, and /v1 refuses the token outside them: a model
// it may not call, an address outside its list, past its expiry, switched off, over its quota
// (until its usage is reset in the dialog).
// The portal's own chat token is not listed. Screenshots: desktop and phone, en and zh-CN.

const ask = (model: string) => ({ model, messages: [{ role: 'user', content: 'Hello?' }] })

async function call(portal: Portal, token: string, model = 'slow-bot') {
  const response = await fetch(`${portal.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(ask(model)),
  })
  const body = (await response.json()) as { error?: { type: string; message: string } }
  return { status: response.status, type: body.error?.type, message: body.error?.message }
}

async function openLimits(page: Page, name: string): Promise<void> {
  await page.click(`[data-role="rows"] tr[data-token="${name}"] [data-action="limits"]`)
  await page.waitForSelector('[data-role="limits-dialog"][open]')
}

async function save(page: Page): Promise<void> {
  await page.click('[data-role="limits-form"] button[type="submit"]')
  await page.waitForSelector('[data-role="limits-dialog"]', { state: 'hidden' })
}

browserTest('token limits set on the tokens page: each refusal on /v1, and the chat token not listed', async t => {
  const portal = await bootPortal(t)
  const session = await registerUser(portal, 'ines')
  // The portal's chat token exists (the chat page made one): it must not be listed.
  await portal.gateway.inject({
    method: 'POST',
    url: '/api/chat/token',
    headers: { authorization: `Bearer ${session.access_token}` },
  })
  const { page } = await openPage(t, { baseUrl: portal.url, session, expected: [/status of 400/] })
  let confirmReset = false
  page.on('dialog', dialog => void (confirmReset ? dialog.accept() : dialog.dismiss()))
  await page.goto('/tokens')
  await ready(page, 'tokens')
  await page.fill('#token-name', 'ci')
  await page.click('[data-role="create-form"] button[type="submit"]')
  await page.waitForSelector('[data-role="rows"] tr[data-token="ci"]')
  const token = (await page.textContent('[data-role="secret-value"]')) ?? ''
  t.same(
    await page.$$eval('[data-role="rows"] tr', rows => rows.map(row => row.getAttribute('data-token'))),
    ['ci'],
    'the chat token is not listed',
  )
  t.equal((await call(portal, token)).status, 200, 'no limits: the call goes through')

  // Models: only thinker.
  await openLimits(page, 'ci')
  await page.fill('#token-models', 'thinker')
  await save(page)
  await page.waitForSelector('tr[data-token="ci"] .token-limits:has-text("1 model")')
  t.match(await call(portal, token), { status: 403, type: 'model_not_allowed' }, 'another model is refused')
  t.equal((await call(portal, token, 'thinker')).status, 200, 'its model is served')

  // Addresses: a range the test's loopback is not in; a malformed one is refused in the dialog.
  await openLimits(page, 'ci')
  await page.fill('#token-ips', '10.0.0.0/33')
  await page.click('[data-role="limits-form"] button[type="submit"]')
  await page.waitForSelector('[data-role="limits-error"]:not([hidden])')
  t.match(await page.textContent('[data-role="limits-error"]'), /not an IP address/)
  await page.fill('#token-ips', '10.0.0.0/8')
  await save(page)
  t.match(await call(portal, token, 'thinker'), { status: 403, type: 'ip_not_allowed' }, 'refused from 127.0.0.1')

  // Switched off, with the addresses cleared.
  await openLimits(page, 'ci')
  await page.fill('#token-ips', '')
  await page.uncheck('#token-enabled')
  await save(page)
  await page.waitForSelector('tr[data-token="ci"].token-off')
  t.match(await call(portal, token, 'thinker'), { status: 403, type: 'api_token_disabled' }, 'refused while off')

  // On again, with a quota of 1 token: the first call uses it up.
  await openLimits(page, 'ci')
  await page.check('#token-enabled')
  await page.fill('#token-quota', '1')
  await save(page)
  t.equal((await call(portal, token, 'thinker')).status, 200, 'the call within the quota')
  t.match(await call(portal, token, 'thinker'), { status: 403, type: 'token_quota_exhausted' }, 'then refused')

  // Reset usage: the count the list shows (written within a second) goes back to 0, calls go through.
  const limitsText = () => page.textContent('tr[data-token="ci"] .token-limits')
  await until(async () => {
    await page.reload()
    await ready(page, 'tokens')
    return !/\b0 \/ 1 tokens/.test((await limitsText()) ?? '')
  }, 'the used tokens listed')
  const used = /([\d,]+) \/ 1 tokens/.exec((await limitsText()) ?? '')?.[1] ?? ''
  t.ok(Number(used.replace(/,/g, '')) >= 1, `the list shows the used tokens (${used})`)
  await openLimits(page, 'ci')
  t.equal(await page.textContent('[data-role="limits-used"]'), `${used} / 1 tokens`, 'and so does the dialog')
  await page.click('[data-action="reset-usage"]')
  t.equal(await page.textContent('[data-role="limits-used"]'), `${used} / 1 tokens`, 'dismissed: nothing reset')
  t.match(await call(portal, token, 'thinker'), { status: 403, type: 'token_quota_exhausted' })
  confirmReset = true
  await page.click('[data-action="reset-usage"]')
  await page.waitForSelector('[data-role="limits-used"]:text("0 / 1 tokens")')
  await page.waitForSelector('tr[data-token="ci"] .token-limits:has-text("0 / 1 tokens")')
  t.pass('the dialog and the row show 0 used')
  await page.click('[data-action="cancel-limits"]')
  t.equal((await call(portal, token, 'thinker')).status, 200, 'the quota counts from 0 again')

  // An expiry a moment away.
  await openLimits(page, 'ci')
  await page.fill('#token-quota', '')
  const soon = new Date(Date.now() + 61_000)
  const pad = (n: number) => String(n).padStart(2, '0')
  await page.fill(
    '#token-expires',
    `${soon.getFullYear()}-${pad(soon.getMonth() + 1)}-${pad(soon.getDate())}T${pad(soon.getHours())}:${pad(soon.getMinutes())}`,
  )
  await save(page)
  t.equal((await call(portal, token, 'thinker')).status, 200, 'before the expiry')
  // A minute is long for a test: the same field through the API, a moment away, then past.
  const id = (await page.getAttribute('tr[data-token="ci"]', 'data-id')) ?? ''
  const moment = await portal.gateway.inject({
    method: 'PATCH',
    url: `/api/tokens/${id}`,
    headers: { authorization: `Bearer ${session.access_token}` },
    payload: { expires_at: new Date(Date.now() + 1500).toISOString() },
  })
  t.equal(moment.statusCode, 200)
  await new Promise(resolve => setTimeout(resolve, 1600))
  const expired = await call(portal, token, 'thinker')
  t.match(expired, { status: 403, type: 'api_token_expired' }, 'refused after its expiry')
  // A quota again, so the screenshots show the usage and its Reset button.
  await portal.gateway.inject({
    method: 'PATCH',
    url: `/api/tokens/${id}`,
    headers: { authorization: `Bearer ${session.access_token}` },
    payload: { quota: 100_000 },
  })
  await page.reload()
  await ready(page, 'tokens')
  t.match(await page.textContent('tr[data-token="ci"]'), /Expired/, 'the list says so')
  await page.screenshot({ path: shot('portal-tokens-limits') })
  await openLimits(page, 'ci')
  await page.screenshot({ path: shot('portal-token-limits-dialog') })
})

browserTest('the tokens page and its limits dialog on a phone, in Chinese', async t => {
  const portal = await bootPortal(t)
  const session = await registerUser(portal, 'jun')
  await portal.gateway.inject({
    method: 'POST',
    url: '/api/tokens',
    headers: { authorization: `Bearer ${session.access_token}` },
    payload: { name: 'scripts', models: ['thinker'], rpm: 30, quota: 100000, allowed_ips: ['203.0.113.0/24'] },
  })
  const { page } = await openPage(t, { baseUrl: portal.url, session, viewport: PHONE })
  await page.goto('/tokens?lang=zh-CN')
  await ready(page, 'tokens')
  await page.waitForSelector('tr[data-token="scripts"]')
  t.match(await page.textContent('tr[data-token="scripts"] .token-limits'), /1 个模型.*30 次\/分钟/)
  const width = await page.evaluate(() => document.documentElement.scrollWidth)
  t.ok(width <= PHONE.width, `no wider than the phone (${width} px)`)
  await page.screenshot({ path: shot('portal-tokens-phone-zh') })
  await openLimits(page, 'scripts')
  t.equal(await page.inputValue('#token-quota'), '100000')
  t.equal(await page.textContent('[data-role="limits-used"]'), '已用 0 / 100,000 token')
  t.equal(await page.textContent('[data-action="reset-usage"]'), '重置用量')
  await page.screenshot({ path: shot('portal-token-limits-phone-zh') })
})

function shot(name: string): string {
  return new URL(`../../../docs/screenshots/${name}.png`, import.meta.url).pathname
}

browserTest('the tokens page in Chinese on a desktop', async t => {
  const portal = await bootPortal(t)
  const session = await registerUser(portal, 'kai')
  for (const payload of [
    { name: 'ci', models: ['thinker', 'slow-bot'], rpm: 60 },
    { name: 'laptop', enabled: false, expires_at: new Date(Date.now() + 30 * 86_400_000).toISOString() },
    { name: 'batch', quota: 2_000_000, allowed_ips: ['10.0.0.0/8'] },
  ]) {
    const created = await portal.gateway.inject({
      method: 'POST',
      url: '/api/tokens',
      headers: { authorization: `Bearer ${session.access_token}` },
      payload,
    })
    t.equal(created.statusCode, 201)
  }
  const { page } = await openPage(t, { baseUrl: portal.url, session, viewport: DESKTOP })
  await page.goto('/tokens?lang=zh-CN')
  await ready(page, 'tokens')
  await page.waitForSelector('tr[data-token="batch"]')
  t.match(await page.textContent('tr[data-token="laptop"] .token-limits'), /已停用/)
  await page.screenshot({ path: shot('portal-tokens-desktop-zh') })
})
