import type { Test } from 'tap'
import { SMTPServer } from 'smtp-server'
import { createTestGateway, freePort, type TestGateway } from '@parley/core/testing'
import identity from '@parley/identity'
import portal from '@parley/portal'
import rateLimit from '@parley/rate-limit'
import { browserTest, DESKTOP, ensureBundle, openPage, PHONE, ready, registerUser, until } from './browser.js'

// Forgot password → the mail (read from a real SMTP server) → reset password → sign in; every
// session from before ends. Screenshots of both pages, desktop and phone, en and zh-CN.

const SITE_NAME = 'Parley'

interface Captured {
  readonly to: string[]
  readonly raw: string
}

async function bootWithMail(t: Test): Promise<{ gateway: TestGateway; url: string; mails: Captured[] }> {
  await ensureBundle()
  const mails: Captured[] = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, done) {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => {
        mails.push({ to: session.envelope.rcptTo.map(r => r.address), raw: Buffer.concat(chunks).toString('utf8') })
        done()
      })
    },
  })
  const port = await freePort()
  await new Promise<void>(resolve => server.listen(port, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  const gateway = await createTestGateway({
    plugins: [
      {
        plugin: identity,
        options: { mail: { smtp_url: `smtp://127.0.0.1:${port}`, from: 'Parley <no-reply@example.com>' } },
      },
      rateLimit,
      portal,
    ],
    listen: true,
    config: { admin: { username: 'admin', password: 'portal-admin-password' }, settings: { site_name: SITE_NAME } },
  })
  t.teardown(gateway.close)
  // The link points at the public base URL: here, the test server itself.
  await gateway.settings.set('site_base_url', gateway.url ?? '')
  return { gateway, url: gateway.url ?? '', mails }
}

/** The link in a captured mail, undone from quoted-printable (soft line breaks, `=3D`). */
function linkIn(raw: string): string {
  const text = raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_whole, hex: string) => String.fromCharCode(parseInt(hex, 16)))
  const match = /https?:\/\/\S+\/reset-password#token=[A-Za-z0-9_-]{43}/.exec(text)
  if (!match) throw new Error(`no reset link in the mail: ${raw}`)
  return match[0]
}

browserTest('forgot password: the link from the mail sets a new password; old sessions end', async t => {
  const { gateway, url, mails } = await bootWithMail(t)
  const session = await registerUser({ gateway, url, adminToken: '', provider: undefined as never }, 'mei')
  const { page } = await openPage(t, { baseUrl: url, expected: [/status of 400/] })

  await page.goto('/login')
  await ready(page, 'login')
  await page.click('[data-role="forgot"]')
  await ready(page, 'forgot-password')
  await page.screenshot({ path: shot('portal-forgot-password') })
  await page.fill('#forgot-email', 'mei@example.com')
  await page.click('[data-role="form"] button[type="submit"]')
  await page.waitForSelector('[data-role="done"]:not([hidden])')
  t.match(await page.textContent('[data-role="done"]'), /If an account uses this email/)

  await until(() => mails.some(mail => mail.to.includes('mei@example.com')), 'the reset mail')
  const link = linkIn(mails.find(mail => mail.to.includes('mei@example.com'))?.raw ?? '')
  t.ok(link.startsWith(`${url}/reset-password#token=`), 'the link is on the site')

  await page.goto(link)
  await ready(page, 'reset-password')
  t.equal(new URL(page.url()).hash, '', 'the secret leaves the address bar at once')
  await page.fill('#reset-password', 'short')
  await page.fill('#reset-password-confirm', 'short')
  await page.click('[data-role="form"] button[type="submit"]')
  await page.waitForSelector('[data-role="error"]:not([hidden])')
  t.match(
    await page.textContent('[data-role="error"]'),
    /at least 8/,
    'a refused password is said, the link still works',
  )
  await page.screenshot({ path: shot('portal-reset-password') })
  await page.fill('#reset-password', 'a fresh lantern passphrase')
  await page.fill('#reset-password-confirm', 'a fresh lantern passphrase')
  await page.click('[data-role="form"] button[type="submit"]')
  await page.waitForSelector('[data-role="done"]:not([hidden])')

  const before = await gateway.inject({
    method: 'GET',
    url: '/api/users/me',
    headers: { authorization: `Bearer ${session.access_token}` },
  })
  t.equal(before.statusCode, 401, 'the session from before the reset has ended')
  await page.click('[data-role="done"] a[href="/login"]')
  await ready(page, 'login')
  await page.fill('#login-email', 'mei@example.com')
  await page.fill('#login-password', 'a fresh lantern passphrase')
  await Promise.all([page.waitForURL(/\/chat$/), page.click('[data-role="form"] button[type="submit"]')])
  t.pass('signed in with the new password')

  // The same link again: refused.
  const again = await openPage(t, { baseUrl: url, expected: [/status of 400/] })
  await again.page.goto(link)
  await ready(again.page, 'reset-password')
  await again.page.fill('#reset-password', 'another lantern passphrase')
  await again.page.fill('#reset-password-confirm', 'another lantern passphrase')
  await again.page.click('[data-role="form"] button[type="submit"]')
  await again.page.waitForSelector('[data-role="error"]:not([hidden])')
  t.match(await again.page.textContent('[data-role="error"]'), /already used/)
})

browserTest('forgot and reset pages in Chinese on a phone', async t => {
  const { url } = await bootWithMail(t)
  const { page } = await openPage(t, { baseUrl: url, viewport: PHONE })
  await page.goto('/forgot-password?lang=zh-CN')
  await ready(page, 'forgot-password')
  t.match(await page.textContent('h1'), /忘记密码/)
  t.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= PHONE.width, 'no wider than the phone')
  await page.screenshot({ path: shot('portal-forgot-password-phone-zh') })
  await page.goto('/reset-password?lang=zh-CN')
  await ready(page, 'reset-password')
  t.match(await page.textContent('[data-role="error"]'), /需要重置邮件中的链接/, 'without a link the page says so')
  await page.goto('/reset-password?lang=zh-CN#token=' + 'A'.repeat(43))
  await ready(page, 'reset-password')
  t.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= PHONE.width, 'no wider than the phone')
  await page.screenshot({ path: shot('portal-reset-password-phone-zh') })
})

function shot(name: string): string {
  return new URL(`../../../docs/screenshots/${name}.png`, import.meta.url).pathname
}

browserTest('forgot and reset pages: Chinese on a desktop, English on a phone', async t => {
  const { url } = await bootWithMail(t)
  for (const [viewport, lang, suffix] of [
    [DESKTOP, 'zh-CN', 'desktop-zh'],
    [PHONE, 'en', 'phone-en'],
  ] as const) {
    const { page } = await openPage(t, { baseUrl: url, viewport })
    await page.goto(`/forgot-password?lang=${lang}`)
    await ready(page, 'forgot-password')
    t.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= viewport.width, `${suffix}: fits`)
    await page.screenshot({ path: shot(`portal-forgot-password-${suffix}`) })
    await page.goto(`/reset-password?lang=${lang}#token=${'B'.repeat(43)}`)
    await ready(page, 'reset-password')
    t.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= viewport.width, `${suffix}: fits`)
    await page.screenshot({ path: shot(`portal-reset-password-${suffix}`) })
  }
})
