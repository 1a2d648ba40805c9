import { createHash } from 'node:crypto'
import type { Page } from 'playwright-core'
import type { Test } from 'tap'
import { browserTest, openPage, until } from '@parley/core/testing/browser'
import { allowOrigin, createClient, createSession, widgetGateway, type WidgetFixture } from './helpers.js'
import { cuttableProxy, hostSite } from './host-page.js'

/**
 * Where the frame's session comes from, in a real browser: a global function the host page
 * names (`data-session-callback`), and a fresh session after the gateway answers 401 (the token
 * expired), asked for once, with a clear message when the host page cannot give one.
 */

const ANSWER = 'Our shop opens at nine.'
const WORDS = Array.from({ length: 40 }, (_, index) => `word${index}`).join(' ')

/** What a session token's expiry does: the gateway's KV store forgets it. */
const expire = (fixture: WidgetFixture, token: string) =>
  fixture.gateway.kv.delete(`widget:session:${createHash('sha256').update(token).digest('hex')}`)

/** Opens the shop, asks one question in the widget; answers the page and the chat POSTs it made. */
async function askInShop(t: Test, url: string, question = 'When do you open?', expected: RegExp[] = []) {
  const { page } = await openPage(t, { baseUrl: url, expected })
  const posts: number[] = []
  page.on('response', response => {
    if (response.request().method() === 'POST' && new URL(response.url()).pathname === '/api/widget/chat')
      posts.push(response.status())
  })
  await page.goto('/')
  const frame = page.frameLocator('iframe')
  await frame.locator('.pw-launcher').click()
  await frame.locator('.pw-input').fill(question)
  await frame.locator('.pw-send').click()
  return { page, frame, posts }
}

const lastText = async (page: Page, selector: string) =>
  ((await page.frameLocator('iframe').locator(selector).last().textContent()) ?? '').trim()

browserTest('data-session-callback: the page names a function and the widget chats with its session', async t => {
  const fixture = await widgetGateway(t, { listen: true })
  const client = await createClient(fixture.gateway, { allowed_origins: ['http://localhost:1'] })
  const shop = await hostSite(t, {
    gatewayUrl: fixture.gateway.url as string,
    scriptBase: fixture.gateway.url as string,
    client,
    callback: 'fetch',
  })
  await allowOrigin(fixture.gateway, client, shop.url)
  fixture.upstream.reply({ text: ANSWER })
  const { page, frame, posts } = await askInShop(t, shop.url)
  await frame.locator('.pw-send:not([disabled])').waitFor()
  t.equal(await lastText(page, '.pw-assistant'), ANSWER)
  t.equal(shop.sessions, 1, 'the callback asked the shop backend once')
  t.same(posts, [200])
  t.equal(await frame.locator('.pw-error').count(), 0)
})

browserTest('an expired data-session: the frame gets a fresh one through the callback and asks once more', async t => {
  const fixture = await widgetGateway(t, { listen: true })
  const client = await createClient(fixture.gateway, { allowed_origins: ['http://localhost:1'] })
  const stale = await createSession(fixture.gateway, client, 'shopper-42')
  await expire(fixture, stale)
  const shop = await hostSite(t, {
    gatewayUrl: fixture.gateway.url as string,
    scriptBase: fixture.gateway.url as string,
    client,
    callback: 'fetch',
    session: stale,
  })
  await allowOrigin(fixture.gateway, client, shop.url)
  fixture.upstream.reply({ text: ANSWER })
  const { page, frame, posts } = await askInShop(t, shop.url, 'When do you open?', [/401/])
  await frame.locator('.pw-send:not([disabled])').waitFor()
  t.equal(await lastText(page, '.pw-assistant'), ANSWER, 'answered with the fresh session')
  t.same(posts, [401, 200], 'refused once with the expired token, then sent again')
  t.equal(shop.sessions, 1, 'one fresh session')
  t.equal(fixture.upstream.requests.length, 1)
  t.equal(await frame.locator('.pw-error').count(), 0)
})

for (const broken of [
  { callback: 'reject', lang: 'en', posts: [401], message: 'Your chat session has ended and could not be renewed' },
  { callback: 'forged', lang: 'zh-CN', posts: [401, 401], message: '聊天会话已过期且无法续期' },
] as const) {
  browserTest(`no fresh session (${broken.callback}): one retry at most, then a clear message`, async t => {
    const fixture = await widgetGateway(t, { listen: true })
    const client = await createClient(fixture.gateway, { allowed_origins: ['http://localhost:1'] })
    const stale = await createSession(fixture.gateway, client, 'shopper-42')
    await expire(fixture, stale)
    const shop = await hostSite(t, {
      gatewayUrl: fixture.gateway.url as string,
      scriptBase: fixture.gateway.url as string,
      client,
      callback: broken.callback,
      session: stale,
      lang: broken.lang,
    })
    await allowOrigin(fixture.gateway, client, shop.url)
    const { page, frame, posts } = await askInShop(t, shop.url, 'Hello?', [/401/])
    await frame.locator('.pw-error').waitFor()
    t.match(await lastText(page, '.pw-error'), broken.message, `told in ${broken.lang}`)
    await page.waitForTimeout(500)
    t.same(posts, broken.posts, 'no loop of refused requests')
    t.equal(fixture.upstream.requests.length, 0)
    t.equal(await frame.locator('.pw-assistant').count(), 0, 'no empty answer bubble is left')
    t.ok(await frame.locator('.pw-send:not([disabled])').isVisible(), 'the user can try again')
  })
}

browserTest('a session that expires mid-answer: the resume gets a fresh one and the answer completes', async t => {
  const fixture = await widgetGateway(t, { listen: true })
  const proxy = await cuttableProxy(t, Number(new URL(fixture.gateway.url as string).port))
  const client = await createClient(fixture.gateway, { allowed_origins: ['http://localhost:1'] })
  const shop = await hostSite(t, {
    gatewayUrl: fixture.gateway.url as string,
    scriptBase: proxy.url,
    client,
    callback: 'fetch',
  })
  await allowOrigin(fixture.gateway, client, shop.url)
  fixture.upstream.reply({ text: WORDS, chunkDelayMs: 60 })
  const { page, frame } = await askInShop(t, shop.url, 'Forty words, please', [
    /401|ERR_INCOMPLETE_CHUNKED_ENCODING|ERR_CONNECTION|ERR_EMPTY_RESPONSE/,
  ])
  await until(async () => (await lastText(page, '.pw-assistant')).includes('word8'), 'part of the answer')
  t.equal(shop.tokens.length, 1)
  await expire(fixture, shop.tokens[0] as string)
  t.ok(proxy.cut() > 0, 'the connections were cut mid-answer')
  await until(async () => (await lastText(page, '.pw-assistant')).includes('word39'), 'the whole answer', 15_000)
  t.equal(await lastText(page, '.pw-assistant'), WORDS, 'every word once, in order')
  t.equal(shop.sessions, 2, 'the resume asked for a fresh session')
  t.equal(fixture.upstream.requests.length, 1, 'the question was not asked again')
  t.equal(await frame.locator('.pw-error').count(), 0)
})
