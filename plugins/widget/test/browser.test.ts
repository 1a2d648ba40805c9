import { browserTest, DESKTOP, openPage, PHONE, until } from '@parley/core/testing/browser'
import { allowOrigin, createClient, widgetGateway } from './helpers.js'
import { cuttableProxy, hostSite } from './host-page.js'

/**
 * The widget in a real browser: a shop on another origin embeds /widget.js, its backend signs
 * the session request, the user chats with a mock upstream; the connection is cut mid-answer
 * and the answer completes after the resume, word for word. A page from an origin that is not
 * allowed gets nothing.
 */

const WORDS = Array.from({ length: 40 }, (_, index) => `word${index}`).join(' ')
const SHOTS = 'docs/screenshots'

browserTest('a shop embeds the widget; a cut mid-answer is resumed with nothing lost or doubled', async t => {
  const { gateway, upstream } = await widgetGateway(t, { listen: true })
  const proxy = await cuttableProxy(t, Number(new URL(gateway.url as string).port))
  const placeholder = await createClient(gateway, { allowed_origins: ['http://localhost:1'] })
  const shop = await hostSite(t, { gatewayUrl: gateway.url as string, scriptBase: proxy.url, client: placeholder })
  await allowOrigin(gateway, placeholder, shop.url, {
    greeting: 'Hi! Ask me about our products.',
    theme_color: '#0f766e',
  })

  const { page } = await openPage(t, {
    baseUrl: shop.url,
    viewport: DESKTOP,
    expected: [/ERR_INCOMPLETE_CHUNKED_ENCODING|ERR_CONNECTION|ERR_EMPTY_RESPONSE/],
  })
  await page.goto('/')
  const frame = page.frameLocator('iframe')
  await frame.locator('.pw-launcher').click()
  await frame.locator('.pw-input').waitFor()
  t.equal(
    await frame.locator('.pw-send').evaluate(node => getComputedStyle(node).backgroundColor),
    'rgb(15, 118, 110)',
    "the shop's `button { background: red }` does not reach the widget",
  )
  t.equal(await page.evaluate(() => getComputedStyle(document.body).fontFamily), 'serif', 'nor the widget the shop')
  upstream.reply({ text: WORDS, chunkDelayMs: 60 })
  await frame.locator('.pw-input').fill('Tell me forty words')
  await frame.locator('.pw-send').click()
  const answer = frame.locator('.pw-assistant').last()
  await until(async () => ((await answer.textContent()) ?? '').includes('word8'), 'part of the answer')
  t.ok(proxy.cut() > 0, 'the connections were cut mid-answer')
  await until(async () => ((await answer.textContent()) ?? '').includes('word39'), 'the whole answer', 15_000)
  t.equal(((await answer.textContent()) ?? '').trim(), WORDS, 'every word once, in order')
  t.equal(upstream.requests.length, 1, 'the upstream was asked once')
  t.ok(shop.sessions >= 1, "the shop's backend made the session")
  await page.screenshot({ path: `${SHOTS}/widget-desktop-en.png` })
})

browserTest('phone and Chinese: the panel fills the screen; a refusal is shown in the user language', async t => {
  const { gateway, upstream } = await widgetGateway(t, { listen: true })
  const client = await createClient(gateway, { allowed_origins: ['http://localhost:1'], rpm: 1 })
  const shop = await hostSite(t, {
    gatewayUrl: gateway.url as string,
    scriptBase: gateway.url as string,
    client,
    lang: 'zh-CN',
  })
  await allowOrigin(gateway, client, shop.url, { greeting: '您好！有什么可以帮您？' })
  const { page } = await openPage(t, { baseUrl: shop.url, viewport: PHONE, expected: [/429/] })
  await page.goto('/')
  const frame = page.frameLocator('iframe')
  await frame.locator('.pw-launcher').click()
  upstream.reply({ text: '**你好**，这里是 *Markdown* 回答：\n\n- 第一\n- 第二' })
  await frame.locator('.pw-input').fill('你好')
  await frame.locator('.pw-send').click()
  await frame.locator('.pw-assistant strong').waitFor()
  const box = await page.locator('iframe').boundingBox()
  t.equal(Math.round(box?.width ?? 0), PHONE.width, 'the open panel is as wide as the phone')
  await frame.locator('.pw-input').fill('再来一次')
  await frame.locator('.pw-send').click()
  await frame.locator('.pw-error').waitFor()
  t.match(await frame.locator('.pw-error').textContent(), /发送过于频繁/, 'the limit, in Chinese')
  await page.screenshot({ path: `${SHOTS}/widget-phone-zh-CN.png` })
})

browserTest('a page from an origin that is not allowed gets nothing', async t => {
  const { gateway } = await widgetGateway(t, { listen: true })
  const client = await createClient(gateway, { allowed_origins: ['https://shop.example'] })
  const stranger = await hostSite(t, { gatewayUrl: gateway.url as string, scriptBase: gateway.url as string, client })
  const { page } = await openPage(t, { baseUrl: stranger.url, expected: [/CORS|Failed to fetch|ERR_FAILED|403/] })
  await page.goto('/')
  await page.waitForTimeout(1_000)
  t.equal(await page.locator('iframe').count(), 0, 'no frame, no launcher')
  t.equal(stranger.sessions, 0, 'no session was asked for')
})

for (const shot of [
  {
    name: 'widget-phone-en',
    viewport: PHONE,
    lang: 'en',
    greeting: 'Hi! How can we help?',
    question: 'Do you ship abroad?',
  },
  {
    name: 'widget-desktop-zh-CN',
    viewport: DESKTOP,
    lang: 'zh-CN',
    greeting: '您好！有什么可以帮您？',
    question: '可以寄到国外吗？',
  },
]) {
  browserTest(`${shot.name}: launcher, then the open panel with a Markdown answer`, async t => {
    const { gateway, upstream } = await widgetGateway(t, { listen: true })
    const client = await createClient(gateway, { allowed_origins: ['http://localhost:1'] })
    const shop = await hostSite(t, {
      gatewayUrl: gateway.url as string,
      scriptBase: gateway.url as string,
      client,
      lang: shot.lang,
    })
    await allowOrigin(gateway, client, shop.url, { greeting: shot.greeting })
    const { page } = await openPage(t, { baseUrl: shop.url, viewport: shot.viewport })
    await page.goto('/')
    const frame = page.frameLocator('iframe')
    await frame.locator('.pw-launcher').waitFor()
    const closed = await page.locator('iframe').boundingBox()
    t.ok((closed?.width ?? 0) < 100, 'closed, the frame is just the launcher')
    await frame.locator('.pw-launcher').click()
    upstream.reply({
      text:
        shot.lang === 'en'
          ? 'Yes, we ship to **40 countries**:\n\n1. Orders leave within `24 h`\n2. Tracking by email\n\nSee [shipping](https://shop.example/shipping).'
          : '可以，我们配送到 **40 个国家**：\n\n1. 订单 `24 小时` 内发出\n2. 邮件提供物流跟踪\n\n详见[配送说明](https://shop.example/shipping)。',
    })
    await frame.locator('.pw-input').fill(shot.question)
    await frame.locator('.pw-send').click()
    await frame.locator('.pw-assistant ol').waitFor()
    t.equal(await frame.locator('.pw-assistant a').last().getAttribute('target'), '_blank')
    await page.screenshot({ path: `${SHOTS}/${shot.name}.png` })
  })
}
