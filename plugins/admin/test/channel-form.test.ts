import { startMockUpstream } from '@parley/core/testing'
import openai from '@parley/openai'
import { asAdmin, bootConsole, browserTest, DESKTOP, fill, PHONE, screenshot, signIn } from './console.js'

/*
 * The channel form as new-api users expect it: the upstream's models fetched and picked, the
 * channel's own timeouts, a refused save shown where the user looks with the focus on it, a
 * test of any model, and keys the gateway disabled shown with a notice until a test passes.
 */

const dialog = 'dialog[open]'
const KEY = 'sk-console-form-0123456789'

browserTest('the channel form: fetch and pick models, timeouts, a refusal focused, a test of any model', async t => {
  const upstream = await startMockUpstream({ keys: [KEY], models: ['gpt-4o', 'gpt-4o-mini', 'o3-mini'] })
  t.teardown(upstream.close)
  const c = await bootConsole(t, { plugins: [openai] })
  const { page } = await signIn(t, c, '/admin/channels', { expected: [/status of 400/], viewport: DESKTOP })

  await page.click('[data-action=create-channel]')
  await page.selectOption(`${dialog} [data-field=provider] select`, 'openai')
  t.equal(
    await page.getAttribute(`${dialog} [data-field=base_url] input`, 'placeholder'),
    'https://api.openai.com/v1',
    'the placeholder ends where the provider appends /chat/completions',
  )
  await fill(page, dialog, 'name', 'Mock')
  await fill(page, dialog, 'base_url', upstream.url)
  await fill(page, dialog, 'keys', KEY)
  await fill(page, dialog, 'models', 'gpt-4o-mini')
  await page.click(`${dialog} [data-action=fetch-models]`)
  await page.waitForSelector(`${dialog} [data-role=upstream-models]:not([hidden]) input[type=checkbox]`)
  t.same(
    await page.$$eval(`${dialog} [data-role=upstream-models] input[type=checkbox]`, boxes =>
      boxes.map(box => [(box as HTMLInputElement).value, (box as HTMLInputElement).disabled]),
    ),
    [
      ['gpt-4o', false],
      ['gpt-4o-mini', true],
      ['o3-mini', false],
    ],
    "the upstream's models, the one already listed ticked and fixed",
  )
  t.equal(upstream.requests.find(r => r.path === '/v1/models')?.apiKey, KEY, "asked with the form's key")
  await page.check(`${dialog} [data-role=upstream-models] input[value="o3-mini"]`)
  await page.click(`${dialog} [data-action=add-models]`)
  t.equal(await page.inputValue(`${dialog} [data-field=models] textarea`), 'gpt-4o-mini\no3-mini')
  await page.fill(`${dialog} [data-field="timeouts.first_byte_ms"] input`, '1500')
  await screenshot(page, 'admin-channel-form')

  // A header the gateway sets itself is refused: the message is beside it and the focus on it.
  await page.fill(`${dialog} [data-field=headers] textarea`, 'Authorization = Bearer sk-other')
  await page.click(`${dialog} [data-action=save]`)
  await page.waitForSelector(`${dialog} [data-field=headers] [data-role=field-error]:not([hidden])`)
  t.match(await page.textContent(`${dialog} [data-field=headers] [data-role=field-error]`), /Authorization/)
  t.ok(
    await page.evaluate(() => document.activeElement?.closest('[data-field=headers]') !== null),
    'the focus moved to the refused field',
  )
  t.ok(
    await page.$eval(`${dialog} [data-field=headers] textarea`, el => {
      const box = el.getBoundingClientRect()
      return box.top >= 0 && box.bottom <= window.innerHeight
    }),
    'and it is in view',
  )
  t.equal(((await asAdmin(c, 'GET', '/api/admin/channels')) as { total: number }).total, 0, 'nothing was saved')
  await page.fill(`${dialog} [data-field=headers] textarea`, 'X-Title = Parley')
  await page.click(`${dialog} [data-action=save]`)
  await page.waitForSelector('[data-role=channels] tr[data-row="Mock"]')
  const [stored] = (
    (await asAdmin(c, 'GET', '/api/admin/channels')) as {
      items: Array<{ models: Array<{ model: string }>; timeouts: unknown; settings: Record<string, unknown> }>
    }
  ).items
  t.same(
    stored?.models.map(m => m.model),
    ['gpt-4o-mini', 'o3-mini'],
  )
  t.same(stored?.timeouts, { connect_ms: null, first_byte_ms: 1500, idle_ms: null })
  t.same(stored?.settings.headers, { 'X-Title': 'Parley' })

  // The test runs with the first model, then with any other the admin picks.
  await page.click('[data-role=channels] tr[data-row="Mock"] [data-action=test]')
  await page.waitForSelector(`${dialog} [data-role=test-verdict][data-ok=true]`)
  await page.selectOption(`${dialog} [data-field=test_model] select`, 'o3-mini')
  await page.click(`${dialog} [data-action=run-test]`)
  await page.waitForFunction(() => document.querySelector('[data-role=test-verdict]')?.textContent?.includes('o3-mini'))
  const tested = upstream.requests.filter(r => r.path === '/v1/chat/completions').map(r => r.body?.model)
  t.same(tested, ['gpt-4o-mini', 'o3-mini'], 'each test asked the upstream for the model chosen')
  t.equal(upstream.requests.at(-1)?.headers['x-title'], 'Parley', 'the extra header reached the upstream')
  await page.click(`${dialog} [data-action=close]`)
})

for (const lang of ['en', 'zh-CN'] as const)
  for (const [device, viewport] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const)
    browserTest(`a key the gateway disabled: the notice, then a passing test (${lang}, ${device})`, async t => {
      const upstream = await startMockUpstream({ keys: [KEY] })
      t.teardown(upstream.close)
      const c = await bootConsole(t, { plugins: [openai] })
      const channel = (await asAdmin(c, 'POST', '/api/admin/channels', {
        provider: 'openai',
        name: 'Refused',
        base_url: upstream.url,
        keys: [KEY],
        models: ['gpt-4o-mini'],
      })) as { id: number }
      // As the data plane leaves it after repeated 401s (plugins/openai/test/channel-admin.test.ts).
      await c.gateway.db
        .em()
        .getConnection()
        .execute(
          "update catalog_channel_keys set enabled = 0, disabled_reason = 'auth', disabled_at = ? where channel_id = ?",
          [new Date(), channel.id],
        )
      const { page } = await signIn(t, c, '/admin/channels', { viewport, lang })
      await page.waitForSelector('[data-role=auto-disabled]')
      t.match(
        await page.textContent('[data-role=auto-disabled]'),
        lang === 'en' ? /1 key\(s\) disabled automatically.*Refused: key sk-/s : /1 个密钥.*Refused：密钥 sk-/s,
      )
      t.ok(
        await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
        'no page wider than the screen',
      )
      await screenshot(page, `admin-channels-auto-disabled-${lang === 'en' ? 'en' : 'zh'}-${device}`)
      await page.click('[data-role=channels] tr[data-row="Refused"] [data-action=test]')
      await page.waitForSelector(`${dialog} [data-role=test-verdict][data-ok=true]`)
      await page.click(`${dialog} [data-action=close]`)
      await page.reload()
      await page.waitForSelector('[data-role=channels] tr[data-row="Refused"]')
      t.equal(await page.locator('[data-role=auto-disabled]').count(), 0, 'the notice is gone')
      const keys = ((await asAdmin(c, 'GET', `/api/admin/channels/${channel.id}`)) as { keys: unknown[] }).keys
      t.match(keys, [{ enabled: true, disabled_reason: null }], 'the passing test enabled the key again')
    })
