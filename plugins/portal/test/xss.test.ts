import { bootPortal, browserTest, openChat, ready } from './browser.js'

/** Each would run script, load something or leave markup behind if it reached the page as HTML. */
const CORPUS = [
  '<script>window.__xss = "script"</script>',
  '<img src=x onerror="window.__xss = \'img\'">',
  '<svg onload="window.__xss = \'svg\'"></svg>',
  '<iframe src="javascript:window.parent.__xss = \'iframe\'"></iframe>',
  '"><img src=x onerror=alert(1)>',
  "'-alert(1)-'",
  '[click me](javascript:window.__xss=1)',
  '**<b onmouseover=alert(1)>bold</b>**',
  '```html\n<script>window.__xss = "fence"</script>\n```',
  '<a href="javascript:window.__xss=1">link</a>',
  '{{constructor.constructor("window.__xss=1")()}}',
  '<style>body{display:none}</style>',
]

const answer = '[data-role="message-assistant"]'

browserTest('an XSS corpus, sent as messages and returned as model output, runs no script and leaves no markup', async t => {
  const portal = await bootPortal(t)
  const { page } = await openChat(t, portal)
  for (const [index, payload] of CORPUS.entries()) {
    portal.provider.reply({ events: [{ type: 'reasoning', delta: payload }, { type: 'text', delta: `${payload}\n\n` }, { type: 'text', delta: payload }, { type: 'done', finishReason: 'stop' }] })
    await page.fill('[data-role="prompt"]', payload)
    await page.keyboard.press('Enter')
    await page.waitForSelector(`${answer} >> nth=${index} >> xpath=self::*[@data-state="done"]`)
  }
  // Reloaded from local history, the same text goes through the same rendering again.
  await page.reload()
  await ready(page, 'chat')
  await page.click('.chat-list-item >> nth=-1')
  await page.waitForSelector('[data-role="message-user"]')

  t.equal(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss), undefined, 'no payload ran')
  const dangerous = await page.$$eval('[data-role="log"] :is(script, img, svg, iframe, style, b, object, embed)', nodes => nodes.map(node => node.outerHTML))
  t.same(dangerous, [], 'no element came from the payloads')
  const links = await page.$$eval('[data-role="log"] a', nodes => nodes.map(node => node.getAttribute('href')))
  t.same(links, [], 'no javascript: link was made')
  // One conversation holds the whole corpus: every payload is there as literal text.
  const texts = (selector: string) => page.$$eval(selector, nodes => nodes.map(node => node.textContent ?? ''))
  t.same(await texts('[data-role="message-user"] [data-role="message-body"]'), CORPUS, 'questions are text')
  t.same(await texts(`${answer} .chat-thinking-text`), CORPUS, 'reasoning is text')
  const answers = await texts(`${answer} [data-role="message-body"]`)
  // Markdown may turn ** and ``` into <strong> and <pre>; what they wrap stays text.
  const visible = (payload: string) => payload.replace(/\*\*|```html\n|\n```/g, '')
  t.same(answers.map((text, i) => text.includes(visible(CORPUS[i] ?? ''))), CORPUS.map(() => true), 'answers are text')
  t.equal(await page.textContent('.chat-list-item'), CORPUS[0]?.slice(0, 60), 'titles are text too')
})
