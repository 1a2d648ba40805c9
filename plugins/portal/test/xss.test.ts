import { XSS_HTML, XSS_KATEX, XSS_MARKDOWN } from '@parley/core/testing'
import { bootPortal, browserTest, openChat, ready } from './browser.js'

const CORPUS: readonly string[] = XSS_HTML

const answer = '[data-role="message-assistant"]'

browserTest(
  'an XSS corpus, sent as messages and returned as model output, runs no script and leaves no markup',
  async t => {
    const portal = await bootPortal(t)
    const { page } = await openChat(t, portal)
    for (const [index, payload] of CORPUS.entries()) {
      portal.provider.reply({
        events: [
          { type: 'reasoning', delta: payload },
          { type: 'text', delta: `${payload}\n\n` },
          { type: 'text', delta: payload },
          { type: 'done', finishReason: 'stop' },
        ],
      })
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
    const dangerous = await page.$$eval(
      '[data-role="log"] :is(script, img, svg, iframe, style, b, object, embed)',
      nodes => nodes.map(node => node.outerHTML),
    )
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
    t.same(
      answers.map((text, i) => text.includes(visible(CORPUS[i] ?? ''))),
      CORPUS.map(() => true),
      'answers are text',
    )
    t.equal(await page.textContent('.chat-list-item'), CORPUS[0]?.slice(0, 60), 'titles are text too')
  },
)

/** Markdown's own ways in, and KaTeX commands that make links or markup. */
const MARKDOWN_CORPUS = [...XSS_MARKDOWN, ...XSS_KATEX]

browserTest(
  'Markdown vectors: no javascript:/data: link, no raw HTML, no image, and KaTeX makes no link (trust: false)',
  async t => {
    const portal = await bootPortal(t)
    const { page } = await openChat(t, portal)
    for (const [index, payload] of MARKDOWN_CORPUS.entries()) {
      portal.provider.reply({
        events: [
          { type: 'text', delta: payload },
          { type: 'done', finishReason: 'stop' },
        ],
      })
      await page.fill('[data-role="prompt"]', `vector ${index}`)
      await page.keyboard.press('Enter')
      await page.waitForSelector(`${answer} >> nth=${index} >> xpath=self::*[@data-state="done"]`)
    }
    await page.waitForFunction(() => !document.querySelector('.md-math:not([data-rendered])'))
    const log = '[data-role="log"] [data-role="message-body"]'
    t.equal(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss), undefined, 'no payload ran')
    t.same(
      await page.$$eval(`${log} :is(script, img, iframe, details, object, embed, style, image, foreignObject)`, nodes =>
        nodes.map(node => node.outerHTML),
      ),
      [],
      'no element from raw HTML, and images are not loaded',
    )
    t.same(
      await page.$$eval(`${log} svg:not(.katex svg)`, nodes => nodes.map(node => node.outerHTML)),
      [],
      'no svg outside KaTeX',
    )
    const links = await page.$$eval(`${log} a`, nodes => nodes.map(node => node.getAttribute('href')))
    t.same(
      links,
      ['https://tracker.example/pixel.png', 'https://example.com'],
      'the only links go to http(s): the remote image, as a link, and the titled link',
    )
    t.equal(
      await page.getAttribute(`${log} a[href="https://example.com"]`, 'title'),
      '" onmouseover="window.__xss=1',
      'a title stays an attribute value',
    )
    const handlers = await page.$$eval(`${log} *`, nodes =>
      nodes
        .flatMap(node => [...node.attributes].map(attribute => attribute.name))
        .filter(name => name.startsWith('on')),
    )
    t.same(handlers, [], 'no event-handler attribute anywhere')
    t.same(
      await page.$$eval(
        `${log} .katex a, ${log} .katex [id="log"], ${log} .katex [data-foo], ${log} .katex .x`,
        nodes => nodes.length,
      ),
      0,
      'KaTeX made no link, id, data attribute or class from the TeX',
    )
    const texts = await page.$$eval(`${answer} [data-role="message-body"]`, nodes =>
      nodes.map(node => node.textContent ?? ''),
    )
    t.match(texts[0], '[plain](javascript:window.__xss=1)', 'a javascript: link stays text')
    t.match(texts[2], '![svg](data:image/svg+xml;base64,', 'a data: image stays text')
    t.match(texts[4], '<img src=x onerror="window.__xss=1">', 'raw HTML in a list stays text')
    t.match(texts[4], '<script>window.__xss=1</script>', 'and in a table cell')
    t.same(
      await page.$$eval(`${answer} >> nth=5 >> .md-code-language`, nodes => nodes.map(node => node.textContent)),
      ['"', '<img'],
      'a fence info string is only a label',
    )
  },
)
