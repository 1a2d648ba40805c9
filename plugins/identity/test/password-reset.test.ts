import t, { type Test } from 'tap'
import identity from '@parley/identity'
import { captureLogs, createTestGateway, missingService, testServices, type TestGateway } from '@parley/core/testing'
import { startMailServer, type MailServer } from './mail-server.js'

// Forgotten passwords: a link by mail (to a real SMTP server), single-use and expiring, the same
// answer for registered and unknown emails, throttled per address and per email. Both dialects.

const dialects = [
  { name: 'sqlite', skip: false as string | false, mysqlUrl: undefined as string | undefined },
  { name: 'mysql', skip: missingService('mysql'), mysqlUrl: testServices.mysqlUrl },
]

const ADMIN = { username: 'admin', password: 'admin-password-0' }
const PASSWORD = 'correct-horse-battery'
const NEW_PASSWORD = 'purple-staple-lantern'
const SITE = 'https://chat.example.com'

interface Setup {
  readonly gateway: TestGateway
  readonly mail: MailServer
  readonly logs: ReturnType<typeof captureLogs>
}

for (const dialect of dialects) {
  const boot = async (t: Test, options: Record<string, unknown> = {}, withMail = true): Promise<Setup> => {
    const mail = await startMailServer()
    t.teardown(mail.close)
    const logs = captureLogs('info')
    const gateway = await createTestGateway({
      plugins: [
        {
          plugin: identity,
          options: {
            ...(withMail ? { mail: { smtp_url: mail.url, from: 'Parley <no-reply@example.com>' } } : {}),
            ...options,
          },
        },
      ],
      mysqlUrl: dialect.mysqlUrl,
      logger: logs.logger,
      config: { admin: ADMIN, settings: { site_base_url: SITE, site_name: 'Parley' } },
    })
    t.teardown(gateway.close)
    await gateway.settings.set('identity.register_per_hour', 0)
    return { gateway, mail, logs }
  }

  const register = async (gateway: TestGateway, name: string) => {
    const response = await gateway.inject({
      method: 'POST',
      url: '/api/auth/register',
      payload: { email: `${name}@example.com`, username: name, password: PASSWORD, password_confirm: PASSWORD },
    })
    if (response.statusCode !== 201) throw new Error(response.body)
    return response.json() as { access_token: string; refresh_token: string; user: { id: number } }
  }
  const forgot = (gateway: TestGateway, email: string, headers: Record<string, string> = {}, ip = '203.0.113.9') =>
    gateway.inject({ method: 'POST', url: '/api/auth/password/forgot', payload: { email }, headers, remoteAddress: ip })
  const reset = (gateway: TestGateway, token: string, password = NEW_PASSWORD, confirm = password) =>
    gateway.inject({
      method: 'POST',
      url: '/api/auth/password/reset',
      payload: { token, password, password_confirm: confirm },
    })
  const login = (gateway: TestGateway, email: string, password: string) =>
    gateway.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password } })
  const tokenOf = (text: string): string => {
    const match = /\/reset-password#token=([A-Za-z0-9_-]{43})/.exec(text)
    if (!match?.[1]) throw new Error(`no reset link in: ${text}`)
    return match[1]
  }

  t.test(`${dialect.name}: password reset by mail`, { skip: dialect.skip }, async t => {
    t.test('the link arrives, sets the password once, and ends every session', async t => {
      const { gateway, mail, logs } = await boot(t)
      const pair = await register(gateway, 'ada')
      const asked = await forgot(gateway, 'ADA@example.com ')
      t.equal(asked.statusCode, 204)
      const message = await mail.next('ada@example.com')
      t.equal(message.from, 'no-reply@example.com')
      t.equal(message.subject, 'Reset your Parley password')
      t.match(message.text, /Hello ada,/)
      t.match(message.text, /within 30 minutes/)
      t.match(message.text, new RegExp(`${SITE}/reset-password#token=`), 'the link is on the public base URL')
      const token = tokenOf(message.text)

      // A refused password does not use the link up.
      const weak = await reset(gateway, token, 'short')
      t.equal(weak.statusCode, 400)
      t.match(weak.json(), { error: { type: 'weak_password' } })
      const mismatch = await reset(gateway, token, NEW_PASSWORD, `${NEW_PASSWORD}!`)
      t.match(mismatch.json(), { error: { type: 'password_mismatch' } })

      t.equal((await reset(gateway, token)).statusCode, 204, 'the password is set')
      t.equal((await login(gateway, 'ada@example.com', NEW_PASSWORD)).statusCode, 200, 'the new password works')
      t.equal((await login(gateway, 'ada@example.com', PASSWORD)).statusCode, 401, 'the old one does not')
      const me = await gateway.inject({
        method: 'GET',
        url: '/api/users/me',
        headers: { authorization: `Bearer ${pair.access_token}` },
      })
      t.equal(me.statusCode, 401, 'the session from before has ended')
      const refreshed = await gateway.inject({
        method: 'POST',
        url: '/api/auth/refresh',
        payload: { refresh_token: pair.refresh_token },
      })
      t.equal(refreshed.statusCode, 401, 'and its refresh token')

      const again = await reset(gateway, token, 'yet-another-lantern')
      t.equal(again.statusCode, 400, 'the link works once')
      t.match(again.json(), { error: { type: 'invalid_reset_token', message: /invalid, expired or already used/ } })
      t.same(logs.containing(token), [], 'the secret is in no log line')
      t.same(logs.containing(NEW_PASSWORD), [], 'nor the password')
      const rows = (await gateway.db
        .em()
        .getConnection()
        .execute('select `token_hash`, `used_at` from `identity_password_resets`')) as Array<{
        token_hash: string
        used_at: unknown
      }>
      t.equal(rows.length, 1)
      t.not(rows[0]?.token_hash, token, 'stored hashed')
      t.ok(rows[0]?.used_at, 'marked used')
    })

    t.test('a newer link ends older ones; an expired link is refused', async t => {
      const { gateway, mail } = await boot(t)
      await register(gateway, 'bob')
      await forgot(gateway, 'bob@example.com')
      const first = tokenOf((await mail.next('bob@example.com')).text)
      await forgot(gateway, 'bob@example.com')
      const second = tokenOf((await mail.next('bob@example.com')).text)
      t.equal((await reset(gateway, second)).statusCode, 204)
      t.equal((await reset(gateway, first, 'another-purple-lantern')).statusCode, 400, 'the older link is used up too')

      await forgot(gateway, 'bob@example.com')
      const third = tokenOf((await mail.next('bob@example.com')).text)
      await gateway.db
        .em()
        .getConnection()
        .execute('update `identity_password_resets` set `expires_at` = ? where `used_at` is null', [
          new Date(Date.now() - 1000),
        ])
      const expired = await reset(gateway, third, 'another-purple-lantern')
      t.equal(expired.statusCode, 400)
      t.match(expired.json(), { error: { type: 'invalid_reset_token' } })
    })

    t.test('an unknown email gets the same answer and no mail; a forged token is refused', async t => {
      const { gateway, mail } = await boot(t)
      await register(gateway, 'cleo')
      const known = await forgot(gateway, 'cleo@example.com')
      const unknown = await forgot(gateway, 'nobody@example.com')
      t.equal(unknown.statusCode, known.statusCode)
      t.equal(unknown.body, known.body, 'the same answer')
      await mail.next('cleo@example.com')
      await new Promise(resolve => setTimeout(resolve, 300))
      t.notOk(
        mail.mails.some(m => m.to.includes('nobody@example.com')),
        'no mail goes to an address without an account',
      )
      const forged = await reset(gateway, 'A'.repeat(43))
      t.equal(forged.statusCode, 400)
      t.match(forged.json(), { error: { type: 'invalid_reset_token' } })
      const malformed = await reset(gateway, 'not a token')
      t.match(malformed.json(), { error: { type: 'invalid_reset_token' } })
      const bad = await forgot(gateway, 'not-an-email')
      t.equal(bad.statusCode, 400)
    })

    t.test('the mail is in the language the user asked in', async t => {
      const { gateway, mail } = await boot(t)
      await register(gateway, 'dai')
      await forgot(gateway, 'dai@example.com', { 'accept-language': 'zh-CN,zh;q=0.9' })
      const message = await mail.next('dai@example.com')
      t.equal(message.subject, '重置您的 Parley 密码')
      t.match(message.text, /dai，您好/)
      t.match(message.text, /30 分钟内/)
      tokenOf(message.text)
    })

    t.test('throttled per address and per email, registered or not', async t => {
      const { gateway } = await boot(t, { password_reset_max_per_account: 2, password_reset_max_per_address: 4 })
      await register(gateway, 'eve')
      for (const email of ['eve@example.com', 'nobody@example.com']) {
        t.equal((await forgot(gateway, email, {}, '198.51.100.1')).statusCode, 204)
        t.equal((await forgot(gateway, email, {}, '198.51.100.2')).statusCode, 204)
        const third = await forgot(gateway, email, {}, '198.51.100.3')
        t.equal(third.statusCode, 429, `${email}: the third request for one email within the hour`)
        t.match(third.json(), { error: { type: 'rate_limit_exceeded', retry_after: Number } })
      }
      for (let i = 0; i < 4; i++) await forgot(gateway, `x${i}@example.com`, {}, '192.0.2.7')
      const fifth = await forgot(gateway, 'x9@example.com', {}, '192.0.2.7')
      t.equal(fifth.statusCode, 429, 'the fifth request from one address')
    })

    t.test('without mail set up the answer says so', async t => {
      const { gateway } = await boot(t, {}, false)
      const response = await forgot(gateway, 'ada@example.com', { 'accept-language': 'zh-CN' })
      t.equal(response.statusCode, 403, 'switched off, like registration_closed')
      t.match(response.json(), { error: { type: 'password_reset_unavailable', message: /本站未配置邮件重置密码/ } })
    })
  })
}
