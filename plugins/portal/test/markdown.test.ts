import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import type * as PortalApp from '../client/main.js'
import { bootPortal, browserTest, DESKTOP, openChat, PHONE, ready, type Portal } from './browser.js'
import { chunks, CORPUS_EN, CORPUS_ZH } from './markdown-corpus.js'

const SCREENSHOTS = fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url))
const answer = '[data-role="message-assistant"]'
const body = `${answer} [data-role="message-body"]`

/** The scripted model streams `text` in `pieces` deltas; the page asks and waits for the whole answer. */
async function ask(
  page: Page,
  portal: Portal,
  text: string,
  options: { pieces?: number; delayMs?: number; question?: string } = {},
): Promise<void> {
  const count = await page.locator(answer).count()
  portal.provider.reply({
    events: [
      ...chunks(text, options.pieces ?? 1).map(delta => ({ type: 'text' as const, delta })),
      { type: 'done', finishReason: 'stop' },
    ],
    delayMs: options.delayMs ?? 0,
  })
  await page.fill('[data-role="prompt"]', options.question ?? 'Compare the models, please.')
  await page.keyboard.press('Enter')
  await page.waitForSelector(`${answer} >> nth=${count} >> xpath=self::*[@data-state="done"]`)
}

/** Until KaTeX and the highlighted languages are there, and KaTeX's fonts are loaded. */
async function settled(page: Page): Promise<void> {
  await page.waitForFunction(() => !document.querySelector('.md-math:not([data-rendered]), code[data-highlight]'))
  await page.evaluate(() => document.fonts.ready)
}

browserTest(
  'a Markdown answer renders as people expect: tables, quotes, lists, math, highlighted code with a copy button',
  async t => {
    const portal = await bootPortal(t)
    const { page, context } = await openChat(t, portal)
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: portal.url })
    await ask(page, portal, CORPUS_EN, { pieces: 40, delayMs: 5 })
    await settled(page)

    const texts = (selector: string) => page.$$eval(selector, nodes => nodes.map(node => node.textContent?.trim()))
    const classes = (selector: string) => page.$$eval(selector, nodes => nodes.map(node => node.className))
    t.same(await texts(`${body} > h4`), ['Comparing the models'], '## is an h4 (the page has its own h1 and h2)')
    t.same(await texts(`${body} strong`), ['bold'])
    t.same(await texts(`${body} em`), ['italic'], '_italic_')
    t.same(await texts(`${body} s`), ['old prices'], '~~strikethrough~~')
    t.same(await texts(`${body} > p > code`), ['inline code'])

    t.same(await texts(`${body} > table > thead > tr > th`), ['Model', 'Context', 'Price / 1M tokens'], 'a GFM table')
    t.same(await texts(`${body} > table > tbody > tr > td:first-child`), ['slow-bot', 'thinker'])
    t.same(
      await classes(`${body} > table > thead th`),
      ['md-align-left', 'md-align-center', 'md-align-right'],
      'column alignment as classes, not style attributes',
    )
    t.equal(await page.$eval(`${body} > table td.md-align-right`, cell => getComputedStyle(cell).textAlign), 'right')

    t.same(
      await texts(`${body} > blockquote > p`),
      ['Prices change often: check the admin console before you quote them.'],
      'a blockquote',
    )

    t.equal(
      await page.$eval(`${body} > ol`, list => list.previousElementSibling?.textContent),
      'Steps to pick one:',
      'a list right under a paragraph, no blank line between',
    )
    t.same(
      await texts(`${body} > ol > li > ul > li`),
      ['short chats: slow-bot', 'long documents: thinker'],
      'a list nested in a numbered item',
    )
    t.equal(await page.locator(`${body} > ol > li`).count(), 2)
    t.same(await texts(`${body} > ul > li`), ['tight', 'list'], 'a tight list')
    t.equal(await page.locator(`${body} li > p`).count(), 0, 'tight lists hold no paragraphs')

    const tex = (selector: string) =>
      page.$$eval(selector, nodes =>
        nodes.map(node => node.querySelector('annotation[encoding="application/x-tex"]')?.textContent?.trim()),
      )
    t.same(
      await tex(`${body} span.md-math`),
      ['E = mc^2', 'x = \\frac{-b \\pm \\sqrt{b^2-4ac}}{2a}'],
      'inline math, $…$ and \\(…\\), typeset by KaTeX',
    )
    t.same(
      await tex(`${body} div.md-math-display`),
      ['\\int_0^1 x^2 \\, dx = \\frac{1}{3}', '\\sum_{n=1}^{\\infty} \\frac{1}{n^2} = \\frac{\\pi^2}{6}'],
      'display math, $$…$$ and \\[…\\]',
    )
    t.equal(await page.locator(`${body} div.md-math-display .katex-display`).count(), 2)
    t.ok(
      await page.$eval(`${body} .katex`, node => getComputedStyle(node).fontFamily.includes('KaTeX_Main')),
      "KaTeX's stylesheet applies",
    )
    t.match(
      await page.$eval('link[rel="stylesheet"][href*="/katex-"]', link => link.getAttribute('href')),
      /^\/portal\/assets\/katex-[A-Z0-9]+\.css$/,
      'from the bundle folder',
    )
    t.ok(
      await page.evaluate(() =>
        [...document.fonts].some(font => font.family.includes('KaTeX_Main') && font.status === 'loaded'),
      ),
      "KaTeX's fonts load under the CSP",
    )

    const code = `${body} .md-code`
    t.equal(await page.textContent(`${code} .md-code-language`), 'python', 'the code block names its language')
    t.equal(
      await page.textContent(`${code} pre code`),
      'def cost(tokens: int, price: float) -> float:\n    # price is per million tokens\n    return tokens / 1_000_000 * price',
    )
    t.same(await texts(`${code} code.hljs .hljs-keyword`), ['def', 'return'], 'highlighted by highlight.js')
    t.same(await texts(`${code} code.hljs .hljs-comment`), ['# price is per million tokens'])
    t.equal(await page.textContent(`${code} [data-action="copy-code"]`), 'Copy code')
    await page.click(`${code} [data-action="copy-code"]`)
    await page.waitForSelector(`${code} [data-action="copy-code"]:has-text("Copied")`)
    t.equal(
      await page.evaluate(() => navigator.clipboard.readText()),
      'def cost(tokens: int, price: float) -> float:\n    # price is per million tokens\n    return tokens / 1_000_000 * price',
      'the copy button puts the code on the clipboard',
    )
    await page.waitForSelector(`${code} [data-action="copy-code"]:has-text("Copy code")`, { timeout: 5000 })

    t.same(
      await page.$eval(`${body} p:last-child a`, a => [
        a.getAttribute('href'),
        a.getAttribute('rel'),
        a.getAttribute('target'),
      ]),
      ['https://example.com/pricing', 'noopener noreferrer nofollow', '_blank'],
      'bare URLs become links',
    )
    t.equal(
      await page.locator(`${body} [style]:not(.katex [style], .katex-display [style])`).count(),
      0,
      'no style attributes outside KaTeX (whose styles are set through the CSSOM)',
    )

    // The answer's Copy still copies the Markdown source; a reload renders it again from history.
    await page.reload()
    await ready(page, 'chat')
    await page.click('.chat-list-item >> nth=0')
    await page.waitForSelector(`${body} > table`)
    await settled(page)
    t.equal(await page.locator(`${body} .katex`).count(), 4, 'from history: the same math')
    t.equal(await page.locator(`${body} .md-code code.hljs`).count(), 1, 'and the same code block')
  },
)

browserTest(
  'streaming: an open code fence and a table render mid-stream; finished blocks are kept, not rebuilt',
  async t => {
    const portal = await bootPortal(t)
    const { page } = await openChat(t, portal)
    const parts = [
      'Intro paragraph.\n\n```ts\nconst a = 1\n',
      'const b = 2\n```\n\n| x | y |\n|---|---|\n| 1 | 2 |\n',
      '| 3 | 4 |\n\nDone.',
    ]
    portal.provider.reply({
      events: [...parts.map(delta => ({ type: 'text' as const, delta })), { type: 'done', finishReason: 'stop' }],
      delayMs: 700,
    })
    await page.fill('[data-role="prompt"]', 'stream it')
    await page.keyboard.press('Enter')

    const streaming = `${answer}[data-state="streaming"]`
    await page.waitForSelector(`${streaming} .md-code pre code:has-text("const a = 1")`)
    t.equal(
      await page.textContent(`${body} .md-code pre code`),
      'const a = 1',
      'an unclosed fence is already a code block, with its header',
    )
    t.equal(await page.textContent(`${body} .md-code .md-code-language`), 'ts')
    // Mark the finished paragraph: if later renders rebuilt it, the mark would be gone.
    await page.$eval(`${body} > p`, node => ((node as HTMLElement).dataset.kept = 'yes'))

    await page.waitForSelector(`${streaming} table tbody tr`)
    t.same(
      await page.$$eval(`${body} table tbody tr`, rows =>
        rows.map(row => [...(row as HTMLTableRowElement).cells].map(cell => cell.textContent).join()),
      ),
      ['1,2'],
      'a table with its first row, mid-stream',
    )
    t.equal(await page.textContent(`${body} .md-code pre code`), 'const a = 1\nconst b = 2')

    await page.waitForSelector(`${answer}[data-state="done"]`)
    t.same(
      await page.$$eval(`${body} table tbody tr`, rows =>
        rows.map(row => [...(row as HTMLTableRowElement).cells].map(cell => cell.textContent).join()),
      ),
      ['1,2', '3,4'],
    )
    t.equal(await page.textContent(`${body} > p:last-child`), 'Done.')
    t.equal(
      await page.$eval(`${body} > p`, node => (node as HTMLElement).dataset.kept),
      'yes',
      'the first paragraph was rendered once and kept',
    )
  },
)

browserTest('a 20 KB answer in 1,000 chunks renders in linear time, and ends as a one-shot render does', async t => {
  const portal = await bootPortal(t)
  const { page } = await openChat(t, portal)
  let answerText = ''
  for (let section = 0; answerText.length < 20_000; section++) {
    answerText += `### Part ${section}\n\nSome **text** with \`code\`, _emphasis_ and $x_${section}^2$.\n\n- one\n- two\n\n| a | b |\n|---|---|\n| ${section} | ${section * 2} |\n\n\`\`\`js\nconst part = ${section}\nconsole.log(part)\n\`\`\`\n\n`
  }
  const pieces = chunks(answerText, 1000)
  t.equal(pieces.length, 1000)
  const result = await page.evaluate(
    async ({ pieces, whole }) => {
      const script = document.querySelector<HTMLScriptElement>('script[type="module"][src*="/app.js"]')
      // The same URL as the page's script: the same module, nothing started twice.
      const app = (await import(script?.src ?? '')) as typeof PortalApp
      await app.loadMarkdown()
      const streamed = document.createElement('div')
      const oneShot = document.createElement('div')
      document.body.append(streamed, oneShot)
      const view = new app.MarkdownView(streamed)
      let source = ''
      const started = performance.now()
      // The worst case: a render for every chunk (the chat renders at most once per frame).
      for (const piece of pieces) {
        source += piece
        view.set(source)
        view.flush()
      }
      view.finish()
      const elapsed = performance.now() - started
      const fresh = new app.MarkdownView(oneShot)
      fresh.finish(whole)
      const same = streamed.innerHTML === oneShot.innerHTML
      return { elapsed, stats: view.stats, same, length: source.length, blocks: streamed.children.length }
    },
    { pieces, whole: answerText },
  )
  t.equal(result.length, answerText.length)
  t.ok(result.same, 'the streamed render ends exactly as a one-shot render of the whole answer')
  t.equal(result.stats?.renders, 1001)
  t.equal(result.stats?.restarts, 0, 'never re-rendered from the start')
  // Re-rendering everything per chunk would parse about 1000 × 20 KB / 2 = 10 MB.
  t.ok(
    (result.stats?.parsed ?? Infinity) < 10 * answerText.length,
    `parsed ${result.stats?.parsed} characters for a ${answerText.length}-character answer (linear, not quadratic)`,
  )
  t.ok(result.elapsed < 5000, `1,000 renders took ${Math.round(result.elapsed)} ms`)
  t.comment(
    `1,000 chunks, ${result.blocks} blocks: ${Math.round(result.elapsed)} ms, ${result.stats?.parsed} characters parsed`,
  )

  // A reference definition reaches back to a block rendered long before it: one whole render at the end.
  const references = await page.evaluate(async text => {
    const script = document.querySelector<HTMLScriptElement>('script[type="module"][src*="/app.js"]')
    const app = (await import(script?.src ?? '')) as typeof PortalApp
    const target = document.createElement('div')
    document.body.append(target)
    const view = new app.MarkdownView(target)
    for (let end = 1; end <= text.length; end++) {
      view.set(text.slice(0, end))
      view.flush()
    }
    view.finish()
    return { href: target.querySelector('a')?.getAttribute('href'), restarts: view.stats?.restarts }
  }, 'See [the docs][1].\n\nMore text.\n\n[1]: https://example.com/docs')
  t.same(references, { href: 'https://example.com/docs', restarts: 1 }, 'a reference-style link works in the end')
})

/** The same answer in each language, desktop and phone, tall enough to show it whole. */
for (const language of ['en', 'zh-CN'] as const) {
  browserTest(`screenshots of a Markdown answer (${language}): desktop and phone`, async t => {
    const portal = await bootPortal(t)
    const { page } = await openChat(t, portal, { name: 'grace' })
    await page.goto(`/chat?lang=${language}`)
    await ready(page, 'chat')
    await ask(page, portal, language === 'en' ? CORPUS_EN : CORPUS_ZH, {
      question:
        language === 'en'
          ? 'Compare the two models, with the maths and a bit of code.'
          : '对比这两个模型，附上公式和一段代码。',
    })
    await settled(page)
    await page.locator('[data-role="prompt"]').blur()
    mkdirSync(SCREENSHOTS, { recursive: true })
    for (const [device, viewport] of [
      ['desktop', DESKTOP],
      ['phone', PHONE],
    ] as const) {
      await page.setViewportSize(viewport)
      // Grow the window until the conversation fits: the log scrolls inside a fixed-height box.
      const overflow = await page.$eval('[data-role="log"]', log => log.scrollHeight - log.clientHeight)
      await page.setViewportSize({ width: viewport.width, height: Math.min(2600, viewport.height + overflow) })
      await page.$eval('[data-role="log"]', log => (log.scrollTop = 0))
      await page.screenshot({ path: `${SCREENSHOTS}chat-markdown-${device}-${language}.png` })
    }
    t.equal(
      await page.textContent(`${body} .md-code [data-action="copy-code"]`),
      language === 'en' ? 'Copy code' : '复制代码',
      'the copy button speaks the page language',
    )
    t.pass(`screenshots written to docs/screenshots/chat-markdown-{desktop,phone}-${language}.png`)
  })
}
