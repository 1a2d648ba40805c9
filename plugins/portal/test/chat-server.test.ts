import { fileURLToPath } from 'node:url'
import conversations from '@parley/conversations'
import storageLocal from '@parley/storage-local'
import uploads from '@parley/uploads'
import { bootPortal, browserTest, DESKTOP, openChat, openPage, PHONE, ready, registerUser, until } from './browser.js'

/*
 * The chat page in `server` history mode (the conversations plugin): the sidebar lists what the
 * server stored, a title arrives without a reload, a reload (or another device) shows the same
 * history, a stopped answer is stored `stopped`, regenerate and edit act on the last question.
 */

const SCREENSHOTS = fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url))
const title = {
  events: [
    { type: 'text', delta: 'Tides and the moon' },
    { type: 'done', finishReason: 'stop' },
  ],
} as const

async function storedMessages(portal: Awaited<ReturnType<typeof bootPortal>>, token: string, id: number) {
  const response = await portal.gateway.inject({
    method: 'GET',
    url: `/api/conversations/${id}/messages`,
    headers: { authorization: `Bearer ${token}` },
  })
  return (response.json() as { items: Array<{ role: string; content: unknown; status: string }> }).items
}

browserTest('server history: send, the title appears, reload keeps it, stop stores a stopped answer', async t => {
  const portal = await bootPortal(t, { chat_history_mode: 'server' }, { plugins: [conversations] })
  const { page, session } = await openChat(t, portal)
  t.equal(await page.getAttribute('[data-portal-page="chat"]', 'data-history'), 'server')
  t.match(await page.textContent('[data-role="privacy-text"]'), /stored on the server/)

  portal.provider.reply(
    {
      events: [
        { type: 'text', delta: 'The moon pulls the sea.' },
        { type: 'done', finishReason: 'stop' },
      ],
    },
    title,
  )
  await page.fill('[data-role="prompt"]', 'Why are there tides?')
  await page.press('[data-role="prompt"]', 'Enter')
  await page.waitForSelector('[data-role="message-assistant"][data-state="done"]')
  await page.waitForSelector('.chat-list-item:text("Tides and the moon")', { timeout: 10_000 })
  t.pass('the generated title replaced the first words without a reload')
  const id = Number(new URL(page.url()).searchParams.get('c'))
  t.ok(id > 0, 'the URL names the open conversation')

  await page.reload()
  await ready(page, 'chat')
  await page.waitForSelector('[data-role="message-assistant"]')
  t.match(
    await page.textContent('[data-role="log"]'),
    /Why are there tides\?[\s\S]*The moon pulls the sea\./,
    'reload keeps the history',
  )
  t.equal(await page.textContent('.chat-list-item[aria-current="true"]'), 'Tides and the moon')

  // Another device: a fresh browser context with the same account sees the same conversation.
  const other = await openPage(t, { baseUrl: portal.url, session })
  await other.page.goto('/chat')
  await ready(other.page, 'chat')
  await other.page.click('.chat-list-item:text("Tides and the moon")')
  await other.page.waitForSelector('[data-role="message-assistant"]')
  t.match(await other.page.textContent('[data-role="log"]'), /The moon pulls the sea\./)

  portal.provider.reply({
    events: [
      ...Array.from({ length: 200 }, () => ({ type: 'text', delta: 'wave ' }) as const),
      { type: 'done', finishReason: 'stop' } as const,
    ],
    delayMs: 40,
  })
  await page.fill('[data-role="prompt"]', 'Count the waves')
  await page.press('[data-role="prompt"]', 'Enter')
  await page.waitForSelector('[data-role="message-assistant"][data-state="streaming"]:has-text("wave")')
  await page.click('[data-role="stop"]')
  await page.waitForSelector('[data-role="message-assistant"][data-state="stopped"]')
  await until(
    async () => (await storedMessages(portal, session.access_token, id))[3]?.status === 'stopped',
    'stored as stopped',
  )
  t.match((await storedMessages(portal, session.access_token, id))[3], {
    role: 'assistant',
    status: 'stopped',
    content: /^(wave )+/,
  })

  // Edit and resend the last question: it and its answer are replaced.
  portal.provider.reply({
    events: [
      { type: 'text', delta: 'Seven waves.' },
      { type: 'done', finishReason: 'stop' },
    ],
  })
  await page.click('[data-role="message-user"] [data-action="edit"]')
  t.equal(await page.inputValue('[data-role="prompt"]'), 'Count the waves')
  await page.fill('[data-role="prompt"]', 'Count seven waves')
  await page.press('[data-role="prompt"]', 'Enter')
  await page.waitForSelector('[data-role="message-assistant"][data-state="done"]:has-text("Seven waves.")')
  await until(
    async () => (await storedMessages(portal, session.access_token, id))[3]?.status === 'completed',
    'edited answer stored',
  )
  t.match(await storedMessages(portal, session.access_token, id), [
    { role: 'user' },
    { role: 'assistant' },
    { role: 'user', content: 'Count seven waves' },
    { role: 'assistant', content: 'Seven waves.', status: 'completed' },
  ])

  // Regenerate the last answer.
  portal.provider.reply({
    events: [
      { type: 'text', delta: 'Seven, again.' },
      { type: 'done', finishReason: 'stop' },
    ],
  })
  await page.click('[data-role="message-assistant"]:last-child [data-action="regenerate"]')
  await page.waitForSelector('[data-role="message-assistant"][data-state="done"]:has-text("Seven, again.")')
  await until(
    async () => (await storedMessages(portal, session.access_token, id))[3]?.content === 'Seven, again.',
    'regenerated',
  )
  t.equal((await storedMessages(portal, session.access_token, id)).length, 4)
})

browserTest('server history: search, load more, rename and delete in the sidebar', async t => {
  const portal = await bootPortal(t, { chat_history_mode: 'server' }, { plugins: [conversations] })
  const session = await registerUser(portal, 'lin')
  const headers = { authorization: `Bearer ${session.access_token}` }
  for (let index = 1; index <= 35; index++)
    await portal.gateway.inject({
      method: 'POST',
      url: '/api/conversations',
      headers,
      payload: { model: 'slow-bot', title: `Topic ${index}` },
    })
  const { page } = await openPage(t, { baseUrl: portal.url, session })
  page.on('dialog', dialog => void (dialog.type() === 'prompt' ? dialog.accept('Renamed topic') : dialog.accept()))
  await page.goto('/chat')
  await ready(page, 'chat')
  t.equal(await page.locator('.chat-list-item').count(), 30, 'one page')
  await page.click('[data-action="load-more"]')
  await until(async () => (await page.locator('.chat-list-item').count()) === 35, 'the next page')
  t.ok(await page.isHidden('[data-action="load-more"]'), 'nothing more to load')

  await page.fill('[data-role="conversation-search"]', 'Topic 3')
  await until(async () => (await page.locator('.chat-list-item').count()) === 7, 'Topic 3, 30 to 35')
  await page.click('.chat-list-row:has-text("Topic 35") [data-action="rename"]')
  await page.waitForSelector('.chat-list-item:text("Renamed topic")')
  await page.fill('[data-role="conversation-search"]', '')
  await until(async () => (await page.locator('.chat-list-item').count()) === 30, 'the first page again')
  await page.click('.chat-list-row:has-text("Renamed topic") [data-action="delete"]')
  await until(async () => (await page.locator('.chat-list-item:text("Renamed topic")').count()) === 0, 'deleted')
  const listed = await portal.gateway.inject({ method: 'GET', url: '/api/conversations?q=Renamed', headers })
  t.equal((listed.json() as { total: number }).total, 0, 'deleted on the server')
})

async function listed(portal: Awaited<ReturnType<typeof bootPortal>>, token: string, archived: boolean) {
  const response = await portal.gateway.inject({
    method: 'GET',
    url: `/api/conversations?archived=${archived}`,
    headers: { authorization: `Bearer ${token}` },
  })
  return (response.json() as { items: Array<{ title: string; archived: boolean }> }).items.map(item => item.title)
}

browserTest('server history: archive, the archived list, continue one there, unarchive and delete', async t => {
  const portal = await bootPortal(t, { chat_history_mode: 'server' }, { plugins: [conversations] })
  const session = await registerUser(portal, 'ana')
  const headers = { authorization: `Bearer ${session.access_token}` }
  for (const name of ['Old trip', 'Recipes', 'Garden plans'])
    await portal.gateway.inject({
      method: 'POST',
      url: '/api/conversations',
      headers,
      payload: { model: 'slow-bot', title: name },
    })
  const { page } = await openPage(t, { baseUrl: portal.url, session })
  page.on('dialog', dialog => void dialog.accept())
  await page.goto('/chat')
  await ready(page, 'chat')
  const titles = () => page.$$eval('.chat-list-item', items => items.map(item => item.textContent))
  t.same(await titles(), ['Garden plans', 'Recipes', 'Old trip'])
  t.equal(await page.textContent('[data-action="toggle-archived"]'), 'Archived')
  t.ok(await page.isHidden('.chat-list-heading'), 'no heading over the active list')

  // Archiving the open conversation starts a new chat; archiving another leaves the open one.
  await page.click('.chat-list-item:text("Old trip")')
  await page.waitForURL(/\?c=\d+$/)
  await page.click('.chat-list-row:has-text("Old trip") [data-action="archive"]')
  await until(async () => (await titles()).length === 2, 'Old trip left the list')
  t.equal(new URL(page.url()).search, '', 'a new chat: the URL names no conversation')
  await page.click('.chat-list-item:text("Garden plans")')
  await page.waitForURL(/\?c=\d+$/)
  const garden = page.url()
  await page.click('.chat-list-row:has-text("Recipes") [data-action="archive"]')
  await until(async () => (await titles()).length === 1, 'Recipes left the list')
  t.equal(page.url(), garden, 'the open conversation stays open')
  t.equal(await page.getAttribute('.chat-list-item:text("Garden plans")', 'aria-current'), 'true')
  t.same(await listed(portal, session.access_token, true), ['Recipes', 'Old trip'], 'archived on the server')
  t.same(await listed(portal, session.access_token, false), ['Garden plans'])

  // The archived list: unarchive and delete, no rename; it opens and continues like any other.
  await page.click('[data-action="toggle-archived"]')
  await until(async () => (await titles()).length === 2, 'the archived list')
  t.same(await titles(), ['Recipes', 'Old trip'])
  t.ok(await page.isVisible('.chat-list-heading:text("Archived conversations")'))
  t.equal(await page.textContent('[data-action="toggle-archived"]'), '← Conversations')
  t.equal(await page.locator('.chat-list-row [data-action="rename"]').count(), 0)
  t.equal(await page.locator('.chat-list-row [data-action="unarchive"]').count(), 2)
  await page.click('.chat-list-item:text("Old trip")')
  await page.waitForURL(/\?c=\d+$/)
  portal.provider.reply({
    events: [
      { type: 'text', delta: 'Lisbon, still.' },
      { type: 'done', finishReason: 'stop' },
    ],
  })
  await page.fill('[data-role="prompt"]', 'Where did we go?')
  await page.press('[data-role="prompt"]', 'Enter')
  await page.waitForSelector('[data-role="message-assistant"][data-state="done"]:has-text("Lisbon, still.")')
  // The page re-reads the conversation after the answer, then moves it up.
  await until(async () => (await titles())[0] === 'Old trip', 'answered: first in the archived list')
  t.same(await titles(), ['Old trip', 'Recipes'], 'still archived')
  t.same(await listed(portal, session.access_token, true), ['Old trip', 'Recipes'])

  await page.click('.chat-list-row:has-text("Recipes") [data-action="unarchive"]')
  await until(async () => (await titles()).length === 1, 'Recipes left the archived list')
  t.same((await listed(portal, session.access_token, false)).sort(), ['Garden plans', 'Recipes'], 'back in the list')
  await page.click('.chat-list-row:has-text("Old trip") [data-action="delete"]')
  await page.waitForSelector('[data-role="conversations-empty"]:visible')
  t.equal(await page.textContent('[data-role="conversations-empty"]'), 'No archived conversations.')
  t.equal(new URL(page.url()).search, '', 'deleting the open one starts a new chat')
  t.equal(await page.locator('[data-role="log"] > *').count(), 0)
  t.same(await listed(portal, session.access_token, true), [], 'deleted on the server')

  await page.click('[data-action="toggle-archived"]')
  await until(async () => (await titles()).length === 2, 'the active list again')
  t.same((await titles()).sort(), ['Garden plans', 'Recipes'])
  t.ok(await page.isHidden('[data-role="conversations-empty"]'))
})

/** A 1×1 red PNG. */
const PIXEL = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC',
  'base64',
)

browserTest('server history: an attached image is stored as a reference and shows after a reload', async t => {
  const portal = await bootPortal(
    t,
    { chat_history_mode: 'server' },
    { plugins: [storageLocal, uploads, conversations] },
  )
  const { page, session } = await openChat(t, portal)
  await page.setInputFiles('[data-role="attach-input"]', { name: 'red.png', mimeType: 'image/png', buffer: PIXEL })
  await page.waitForSelector('[data-role="attachments"] li[data-state="done"]')
  portal.provider.reply(
    {
      events: [
        { type: 'text', delta: 'A red dot.' },
        { type: 'done', finishReason: 'stop' },
      ],
    },
    title,
  )
  await page.fill('[data-role="prompt"]', 'What is this?')
  await page.press('[data-role="prompt"]', 'Enter')
  await page.waitForSelector('[data-role="message-assistant"][data-state="done"]')
  const id = Number(new URL(page.url()).searchParams.get('c'))
  await until(async () => (await storedMessages(portal, session.access_token, id)).length === 2, 'stored')
  const [question] = await storedMessages(portal, session.access_token, id)
  t.match(question?.content, [
    { type: 'text', text: 'What is this?' },
    { type: 'image_url', image_url: { url: /^\/storage\/local\/\d+\/b-[0-9a-f]+\/images\/.+\.png\?expires=/ } },
  ])
  const raw = (await portal.gateway.db
    .em()
    .getConnection()
    .execute('select content from conversations_messages where conversation_id = ? order by id', [id])) as Array<{
    content: string
  }>
  t.match(raw[0]?.content, /parley-object:\/\/\d+\/b-[0-9a-f]+\/images\/[^"?]+\.png"/, 'the reference is stored')

  await page.reload()
  await ready(page, 'chat')
  const shown = '[data-role="message-user"] [data-role="message-images"] img'
  await page.waitForFunction(selector => {
    const images = [...document.querySelectorAll<HTMLImageElement>(selector)]
    return images.length === 1 && images.every(image => image.complete && image.naturalWidth > 0)
  }, shown)
  t.match(await page.textContent('[data-role="message-user"]'), /What is this\?/)
})

for (const language of ['en', 'zh-CN'] as const)
  for (const [device, viewport] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const)
    browserTest(`server history screenshots (${language}, ${device})`, async t => {
      const portal = await bootPortal(t, { chat_history_mode: 'server' }, { plugins: [conversations] })
      const session = await registerUser(portal, 'mei')
      const headers = { authorization: `Bearer ${session.access_token}` }
      const names =
        language === 'en'
          ? ['Tides and the moon', 'Trip to Lisbon', 'Tax return 2026']
          : ['潮汐与月亮', '里斯本之旅', '2026 年报税']
      const archived =
        language === 'en' ? ['Old packing list', 'Quarterly report draft'] : ['旧的行李清单', '季度报告草稿']
      for (const name of [...archived, ...names]) {
        const created = await portal.gateway.inject({
          method: 'POST',
          url: '/api/conversations',
          headers,
          payload: { model: 'slow-bot', title: name },
        })
        if (archived.includes(name))
          await portal.gateway.inject({
            method: 'PUT',
            url: `/api/conversations/${(created.json() as { id: number }).id}`,
            headers,
            payload: { archived: true },
          })
      }
      const { page } = await openPage(t, { baseUrl: portal.url, session, viewport })
      await page.goto(`/chat?lang=${language}`)
      await ready(page, 'chat')
      portal.provider.reply({
        events: [
          { type: 'text', delta: language === 'en' ? 'The moon pulls the oceans toward it.' : '月亮的引力拉动海水。' },
          { type: 'done', finishReason: 'stop' },
        ],
      })
      const named = language === 'en' ? 'Why the sea rises' : '海水为何涨落'
      portal.provider.reply({
        events: [
          { type: 'text', delta: named },
          { type: 'done', finishReason: 'stop' },
        ],
      })
      await page.fill('[data-role="prompt"]', language === 'en' ? 'Why are there tides?' : '为什么会有潮汐？')
      await page.press('[data-role="prompt"]', 'Enter')
      await page.waitForSelector('[data-role="message-assistant"][data-state="done"]')
      await page.waitForSelector(`.chat-list-item:text("${named}")`, { state: 'attached', timeout: 10_000 })
      if (device === 'phone') {
        t.ok(await page.isHidden('.chat-sidebar'), 'the sidebar is a closed drawer on a phone')
        const width = await page.evaluate(() => document.documentElement.scrollWidth)
        t.ok(width <= 390, `nothing sticks out of a 390 px screen (${width})`)
        await page.screenshot({ path: `${SCREENSHOTS}chat-server-phone-closed-${language}.png` })
        await page.click('[data-action="toggle-conversations"]')
        await page.waitForSelector('.chat-sidebar:visible')
        t.equal(await page.getAttribute('[data-action="toggle-conversations"]', 'aria-expanded'), 'true')
      }
      await page.screenshot({ path: `${SCREENSHOTS}chat-server-${device}-${language}.png` })
      if (device === 'phone') {
        await page.click('.chat-list-item >> nth=1')
        t.ok(await page.isHidden('.chat-sidebar'), 'choosing a conversation closes the drawer')
        await page.click('[data-action="toggle-conversations"]')
        await page.mouse.click(345, 500)
        t.ok(await page.isHidden('.chat-sidebar'), 'a tap beside the drawer closes it')
        await page.click('[data-action="toggle-conversations"]')
      }
      await page.click('[data-action="toggle-archived"]')
      await page.waitForSelector(`.chat-list-row:has-text("${archived[0]}") [data-action="unarchive"]`)
      const width = await page.evaluate(() => document.documentElement.scrollWidth)
      t.ok(width <= viewport.width, `the archived list fits the screen (${width})`)
      await page.screenshot({ path: `${SCREENSHOTS}chat-server-archived-${device}-${language}.png` })
    })
