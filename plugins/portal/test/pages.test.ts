import { bootPortal, browserTest, openChat, openPage, ready, registerUser } from './browser.js'

browserTest(
  'account and API token pages; visitors are sent to sign in; an expired access token is refreshed',
  async t => {
    const portal = await bootPortal(t)
    const session = await registerUser(portal, 'lin')
    const visitor = await openPage(t, { baseUrl: portal.url })
    await visitor.page.goto('/tokens')
    await visitor.page.waitForURL(/\/login\?next=%2Ftokens$/)

    // A stale access token: the page refreshes the session once and goes on.
    const stale = { ...session, access_token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c3RhbGU' }
    const { page } = await openPage(t, { baseUrl: portal.url, session: stale, expected: [/status of 401/] })
    await page.goto('/tokens')
    await ready(page, 'tokens')
    const stored = await page.evaluate(
      () =>
        JSON.parse(localStorage.getItem('parley.session') ?? '{}') as { access_token: string; refresh_token: string },
    )
    t.not(stored.access_token, stale.access_token, 'the session was refreshed')
    t.not(stored.refresh_token, session.refresh_token, 'and its refresh token rotated')

    await page.fill('#token-name', 'laptop')
    await page.click('[data-role="create-form"] button[type="submit"]')
    await page.waitForSelector('[data-role="secret"]:not([hidden])')
    const first = await page.textContent('[data-role="secret-value"]')
    t.match(first, /^prl_[A-Za-z0-9]{46}$/, 'the plaintext is shown once')
    await page.waitForSelector('[data-role="rows"] tr')
    t.same(await page.$$eval('[data-role="rows"] tr td:first-child', cells => cells.map(cell => cell.textContent)), [
      'laptop',
    ])
    await page.click('[data-role="rows"] tr button:has-text("Regenerate")')
    await page.waitForFunction(
      previous => document.querySelector('[data-role="secret-value"]')?.textContent !== previous,
      first,
    )
    const models = await portal.gateway.inject({
      method: 'GET',
      url: '/v1/models',
      headers: { authorization: `Bearer ${await page.textContent('[data-role="secret-value"]')}` },
    })
    t.equal(models.statusCode, 200, 'the regenerated token works on /v1')
    page.once('dialog', dialog => void dialog.accept())
    await page.click('[data-role="rows"] tr button:has-text("Delete")')
    await page.waitForFunction(() => document.querySelectorAll('[data-role="rows"] tr').length === 0)

    await page.goto('/account')
    await ready(page, 'account')
    t.equal(await page.inputValue('#account-email'), 'lin@example.com')
    await page.fill('#account-username', 'lin2')
    await page.click('[data-role="username-form"] button[type="submit"]')
    await page.waitForSelector('[data-role="status"]:has-text("Saved.")')
    await page.fill('#account-current', 'correct horse battery')
    await page.fill('#account-password', 'an even better passphrase')
    await page.fill('#account-password-confirm', 'an even better passphrase')
    await page.click('[data-role="password-form"] button[type="submit"]')
    await page.waitForFunction(
      () =>
        document.querySelector('#account-current') instanceof HTMLInputElement &&
        (document.querySelector('#account-current') as HTMLInputElement).value === '',
    )
    await page.reload()
    await ready(page, 'account')
    t.equal(await page.inputValue('#account-username'), 'lin2', 'the new session (after the password change) works')
    const login = await portal.gateway.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: 'lin@example.com', password: 'an even better passphrase' },
    })
    t.equal(login.statusCode, 200, 'the new password signs in')
  },
)

browserTest('a revoked chat token is rotated once and the message goes through', async t => {
  const portal = await bootPortal(t)
  const { page, session } = await openChat(t, portal, { expected: [/status of 401/] })
  const first = await page.evaluate(() => localStorage.getItem('parley.chat_token'))
  t.match(first, /^prl_/, 'the chat token is kept in localStorage')
  // Another tab (or device) rotates the token: this page's copy is revoked.
  const rotated = await portal.gateway.inject({
    method: 'POST',
    url: '/api/chat/token',
    headers: { authorization: `Bearer ${session.access_token}` },
  })
  t.equal(rotated.statusCode, 200)
  await page.fill('[data-role="prompt"]', 'still there?')
  await page.keyboard.press('Enter')
  await page.waitForSelector('[data-role="message-assistant"][data-state="done"]')
  const second = await page.evaluate(() => localStorage.getItem('parley.chat_token'))
  t.not(second, first, 'a new chat token replaced the revoked one')
  t.not(second, (rotated.json() as { token: string }).token, 'and it is a fresh rotation')
  t.equal(portal.provider.calls.length, 1)
})

browserTest('answers render Markdown: highlighted code blocks, inline code, emphasis, lists, http links', async t => {
  const portal = await bootPortal(t)
  const { page } = await openChat(t, portal)
  portal.provider.reply({
    events: [
      {
        type: 'text',
        delta:
          '## Title\n\nSome **bold**, *soft* and `code`.\n\n- one\n- two\n\n```ts\nconst x = 1 < 2\n```\n\nSee [docs](https://example.com/a?b=1).',
      },
      { type: 'done', finishReason: 'stop' },
    ],
  })
  await page.fill('[data-role="prompt"]', 'markdown please')
  await page.keyboard.press('Enter')
  await page.waitForSelector('[data-role="message-assistant"][data-state="done"]')
  const body = '[data-role="message-assistant"] [data-role="message-body"]'
  t.equal(await page.textContent(`${body} h4`), 'Title')
  t.equal(await page.textContent(`${body} strong`), 'bold')
  t.equal(await page.textContent(`${body} em`), 'soft')
  t.equal(await page.textContent(`${body} p code`), 'code')
  t.same(await page.$$eval(`${body} ul li`, items => items.map(item => item.textContent)), ['one', 'two'])
  t.equal(await page.textContent(`${body} pre code[data-language="ts"]`), 'const x = 1 < 2')
  await page.waitForSelector(`${body} pre code.hljs`)
  t.same(
    await page.$$eval(`${body} pre code span`, spans => spans.map(span => [span.className, span.textContent])),
    [
      ['hljs-keyword', 'const'],
      ['hljs-number', '1'],
      ['hljs-number', '2'],
    ],
    'code is highlighted',
  )
  t.same(await page.$eval(`${body} a`, a => [a.getAttribute('href'), a.getAttribute('rel'), a.textContent]), [
    'https://example.com/a?b=1',
    'noopener noreferrer nofollow',
    'docs',
  ])
})
