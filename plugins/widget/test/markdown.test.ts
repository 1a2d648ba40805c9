import type { Frame, Page } from 'playwright-core'
import type { Test } from 'tap'
import { browserTest, openPage } from '@parley/core/testing/browser'
import { XSS_HTML, XSS_MARKDOWN } from '@parley/core/testing'
import { allowOrigin, createClient, widgetGateway, type WidgetFixture } from './helpers.js'
import { hostSite } from './host-page.js'

/**
 * The frame's Markdown renderer (client/markdown.ts) in a real browser, through the widget as
 * a shop page embeds it: what chat models write renders, streamed answers render as they
 * come, and nothing an answer (or a question) holds becomes markup, a script or a link
 * other than http(s) and mailto.
 */

interface Widget {
  readonly page: Page
  readonly frame: Frame
  ask(question: string, answer: string, chunkDelayMs?: number): Promise<void>
}

async function openWidget(t: Test): Promise<Widget & { fixture: WidgetFixture }> {
  const fixture = await widgetGateway(t, { listen: true })
  const client = await createClient(fixture.gateway, { allowed_origins: ['http://localhost:1'] })
  const shop = await hostSite(t, {
    gatewayUrl: fixture.gateway.url as string,
    scriptBase: fixture.gateway.url as string,
    client,
  })
  await allowOrigin(fixture.gateway, client, shop.url)
  const { page } = await openPage(t, { baseUrl: shop.url })
  await page.goto('/')
  const frames = page.frameLocator('iframe')
  await frames.locator('.pw-launcher').click()
  const frame = page.frames().find(candidate => candidate.url().includes('/widget/frame')) as Frame
  let asked = 0
  return {
    fixture,
    page,
    frame,
    async ask(question, answer, chunkDelayMs = 0) {
      fixture.upstream.reply({ text: answer, chunkDelayMs })
      await frame.fill('.pw-input', question)
      await frame.click('.pw-send')
      asked++
      await frame.waitForFunction(
        count =>
          document.querySelectorAll('.pw-user').length === count &&
          !document.querySelector('.pw-pending') &&
          !(document.querySelector('.pw-send') as HTMLButtonElement).disabled,
        asked,
      )
    },
  }
}

const CONSTRUCTS = `## Shipping

First line
second line with **bold**, *italic*, _also italic_, ~~old price~~ and \`a <b> code\`.

> Quoted, with [a link](https://shop.example/a "The title").

1. one
2. two
   - nested

| Item | Price |
|:-----|------:|
| Tea | $3 |

\`\`\`js
const ok = 1 < 2 && "<b>"
\`\`\`

Visit https://shop.example/b or <mailto:help@shop.example>. Fish &amp; chips &#169;.

<b>raw</b> <div>block</div>`

browserTest('the constructs chat models write render as elements, streamed word by word', async t => {
  const { frame, ask } = await openWidget(t)
  await ask('Tell me about shipping', CONSTRUCTS, 5)
  const answer = await frame.evaluate(() => {
    const node = [...document.querySelectorAll('.pw-assistant')].at(-1) as HTMLElement
    const texts = (selector: string) => [...node.querySelectorAll(selector)].map(item => item.textContent)
    return {
      children: [...node.children].map(child => child.tagName.toLowerCase()),
      h2: texts('h2'),
      breaks: node.querySelectorAll('p > br').length,
      strong: texts('strong'),
      em: texts('em'),
      del: texts('del'),
      code: texts('p > code'),
      quoteLink: texts('blockquote a'),
      ol: texts('ol > li').length,
      nested: texts('ol ul > li'),
      th: texts('th'),
      td: texts('td'),
      align: [...node.querySelectorAll('th')].map(cell => (cell as HTMLElement).style.textAlign),
      pre: texts('pre > code'),
      links: [...node.querySelectorAll('a')].map(a => [
        a.getAttribute('href'),
        a.getAttribute('target'),
        a.getAttribute('rel'),
        a.getAttribute('title'),
      ]),
      text: node.textContent ?? '',
      markup: node.querySelectorAll('b, div').length,
    }
  })
  t.same(answer.children, ['h2', 'p', 'blockquote', 'ol', 'table', 'pre', 'p', 'p'], 'one block element each')
  t.same(answer.h2, ['Shipping'])
  t.equal(answer.breaks, 1, 'a single newline is a line break')
  t.same(answer.strong, ['bold'])
  t.same(answer.em, ['italic', 'also italic'])
  t.same(answer.del, ['old price'], 'strikethrough')
  t.same(answer.code, ['a <b> code'], 'inline code is text')
  t.same(answer.quoteLink, ['a link'])
  t.equal(answer.ol, 2)
  t.same(answer.nested, ['nested'])
  t.same(answer.th, ['Item', 'Price'])
  t.same(answer.td, ['Tea', '$3'])
  t.same(answer.align, ['left', 'right'], 'column alignment')
  t.same(answer.pre, ['const ok = 1 < 2 && "<b>"'], 'a fenced block keeps its text exactly')
  const rel = 'noopener noreferrer nofollow'
  t.same(answer.links, [
    ['https://shop.example/a', '_blank', rel, 'The title'],
    ['https://shop.example/b', '_blank', rel, null],
    ['mailto:help@shop.example', '_blank', rel, null],
  ])
  t.match(answer.text, 'Fish & chips ©', 'character references are decoded')
  t.match(answer.text, '<b>raw</b> <div>block</div>', 'raw HTML is shown as text')
  t.equal(answer.markup, 0, 'and makes no element')
})

browserTest('a streamed answer is Markdown while it streams, and whole once at the end', async t => {
  const { page, frame, fixture } = await openWidget(t)
  const tail = Array.from({ length: 30 }, (_, index) => `w${index}`).join(' ')
  fixture.upstream.reply({ text: `**Streaming** answer ${tail}`, chunkDelayMs: 80 })
  await frame.fill('.pw-input', 'Stream something')
  await frame.click('.pw-send')
  await frame.waitForSelector('.pw-assistant strong')
  t.ok(await frame.$eval('.pw-send', button => (button as HTMLButtonElement).disabled), 'still streaming')
  await frame.waitForSelector('.pw-send:not([disabled])', { timeout: 15_000 })
  t.equal(await frame.$eval('.pw-assistant:last-child', node => node.textContent?.trim()), `Streaming answer ${tail}`)
  t.equal(await frame.locator('.pw-assistant strong').count(), 1)
  t.ok(page, 'the page stayed up')
})

/** The kit's XSS vectors (`@parley/core/testing`; the KaTeX ones do not apply to this renderer). */
const CORPUS: readonly string[] = [...XSS_HTML, ...XSS_MARKDOWN]

browserTest('an XSS corpus, as questions and as streamed answers, runs no script and makes no markup', async t => {
  const { page, frame, ask } = await openWidget(t)
  for (const payload of CORPUS) await ask(payload, payload, 1)
  const xss = () => (window as unknown as { __xss?: unknown }).__xss
  t.equal(await frame.evaluate(xss), undefined, 'no payload ran in the frame')
  t.equal(await page.evaluate(xss), undefined, 'nor in the host page')
  t.same(
    await frame.$$eval(
      '.pw-log :is(script, img, svg, iframe, style, b, object, embed, details, image), .pw-bubble div',
      nodes => nodes.map(node => node.outerHTML),
    ),
    [],
    'no element came from the payloads',
  )
  t.same(
    await frame.$$eval('.pw-log a', nodes => nodes.map(node => node.getAttribute('href'))),
    ['https://tracker.example/pixel.png', 'https://example.com'],
    'the only links go to http(s): the remote image, as a link, and the titled link',
  )
  t.equal(
    await frame.getAttribute('.pw-log a[href="https://example.com"]', 'title'),
    '" onmouseover="window.__xss=1',
    'a title stays an attribute value',
  )
  t.same(
    await frame.$$eval('.pw-log *', nodes =>
      nodes
        .flatMap(node => [...node.attributes].map(attribute => attribute.name))
        .filter(name => name.startsWith('on')),
    ),
    [],
    'no event-handler attribute anywhere',
  )
  const texts = (selector: string) => frame.$$eval(selector, nodes => nodes.map(node => node.textContent ?? ''))
  t.same(await texts('.pw-user'), CORPUS, 'questions are text')
  const answers = await texts('.pw-assistant')
  // Markdown may turn ** and ``` into <strong> and <pre>; what they wrap stays text.
  const visible = (payload: string) => payload.replace(/\*\*|```html\n|\n```/g, '')
  t.same(
    answers.slice(0, 12).map((text, i) => text.includes(visible(CORPUS[i] ?? ''))),
    CORPUS.slice(0, 12).map(() => true),
    'HTML answers are text',
  )
  t.match(answers[12], '[plain](javascript:window.__xss=1)', 'a javascript: link stays text')
  t.match(answers[14], '![svg](data:image/svg+xml;base64,', 'a data: image stays text')
  t.match(answers[16], '<img src=x onerror="window.__xss=1">', 'raw HTML in a list stays text')
  t.match(answers[16], '<script>window.__xss=1</script>', 'and in a table cell')
  t.match(answers[18], '[hex](&#x6A;avascript:window.__xss=1)', 'a scheme hidden by a reference stays text')
})
