import { ADMIN, asAdmin, bootConsole, browserTest, fill, PHONE, screenshot, signIn, until } from './console.js'

const dialog = 'dialog[open]'
const NEW_PASSWORD = 'a-brand-new-console-secret'

browserTest('my account: the admin replaces the placeholder email and changes the password in the console', async t => {
  const c = await bootConsole(t)
  // A portal session of the same admin, which the password change must end.
  const portal = await c.gateway.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { email: 'admin@parley.invalid', password: ADMIN.password },
  })
  t.equal(portal.statusCode, 200, 'the first admin signs in to the portal with the placeholder email')
  const portalToken = (portal.json() as { access_token: string }).access_token

  const { page } = await signIn(t, c, '/admin/account', { expected: [/status of 400/] })
  await page.waitForSelector('[data-role=email-form]')
  t.ok(await page.isVisible('.admin-account-note'), 'the placeholder email is pointed out')
  await screenshot(page, 'admin-account')

  await fill(page, '[data-role=email-form]', 'email', 'ops@example.com')
  await page.click('[data-role=email-form] button[type=submit]')
  await until(async () => !(await page.isVisible('.admin-account-note')), 'the note goes once the email is real')
  t.match(await asAdmin(c, 'GET', '/api/users/me'), { email: 'ops@example.com' }, 'stored')

  // A wrong current password is refused beside its field; nothing changes.
  await fill(page, '[data-role=password-form]', 'current_password', 'not-the-password')
  await fill(page, '[data-role=password-form]', 'password', NEW_PASSWORD)
  await fill(page, '[data-role=password-form]', 'password_confirm', NEW_PASSWORD)
  await page.click('[data-role=password-form] button[type=submit]')
  await page.waitForSelector(
    '[data-role=password-form] [data-field=current_password] [data-role=field-error]:not([hidden])',
  )
  t.match(
    await page.textContent('[data-role=password-form] [data-field=current_password] [data-role=field-error]'),
    /current password is wrong/,
  )

  await fill(page, '[data-role=password-form]', 'current_password', ADMIN.password)
  await page.click('[data-role=password-form] button[type=submit]')
  await page.waitForSelector('.admin-notice:has-text("Password changed")')

  // The console stays signed in (a new cookie); the portal session and the old token have ended.
  await page.reload()
  await page.waitForSelector('[data-role=email-form]')
  t.equal(new URL(page.url()).pathname, '/admin/account', 'still in the console after a reload')
  const old = await c.gateway.inject({
    method: 'GET',
    url: '/api/users/me',
    headers: { authorization: `Bearer ${c.token}` },
  })
  t.equal(old.statusCode, 401, 'the admin token from before the change is refused')
  const oldPortal = await c.gateway.inject({
    method: 'GET',
    url: '/api/users/me',
    headers: { authorization: `Bearer ${portalToken}` },
  })
  t.equal(oldPortal.statusCode, 401, 'the portal session from before the change is refused')
  const relogin = await c.gateway.inject({
    method: 'POST',
    url: '/api/auth/admin/login',
    payload: { username: ADMIN.username, password: NEW_PASSWORD },
  })
  t.equal(relogin.statusCode, 200, 'the new password signs in')
})

browserTest("users: an admin sets a user's password; the user's session ends at once", async t => {
  const c = await bootConsole(t)
  const password = 'staple-battery-horse-1'
  await asAdmin(c, 'POST', '/api/admin/users', { email: 'grace@example.com', username: 'grace', password })
  const login = await c.gateway.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { email: 'grace@example.com', password },
  })
  const graceToken = (login.json() as { access_token: string }).access_token
  const before = await c.gateway.inject({
    method: 'GET',
    url: '/api/users/me',
    headers: { authorization: `Bearer ${graceToken}` },
  })
  t.equal(before.statusCode, 200, "grace's session works before")

  const { page } = await signIn(t, c, '/admin/users', { expected: [/status of 400/] })
  await page.click('[data-role=users] tr[data-row="grace"] [data-action=set-password]')
  await fill(page, dialog, 'password', 'short')
  await page.click(`${dialog} [data-action=save]`)
  await page.waitForSelector(`${dialog} [data-field=password] [data-role=field-error]:not([hidden])`)
  t.match(await page.textContent(`${dialog} [data-field=password] [data-role=field-error]`), /at least 8/)
  await fill(page, dialog, 'password', 'another-staple-battery-2')
  await page.click(`${dialog} [data-action=save]`)
  await page.waitForSelector('.admin-notice:has-text("New password set")')

  const after = await c.gateway.inject({
    method: 'GET',
    url: '/api/users/me',
    headers: { authorization: `Bearer ${graceToken}` },
  })
  t.equal(after.statusCode, 401, "grace's old session fails")
  const refreshed = await c.gateway.inject({
    method: 'POST',
    url: '/api/auth/refresh',
    payload: { refresh_token: (login.json() as { refresh_token: string }).refresh_token },
  })
  t.equal(refreshed.statusCode, 401, 'and so does her refresh token')
  const relogin = await c.gateway.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { email: 'grace@example.com', password: 'another-staple-battery-2' },
  })
  t.equal(relogin.statusCode, 200, 'the new password signs in')
})

browserTest('my account and set password, on a phone in Chinese', async t => {
  const c = await bootConsole(t)
  await asAdmin(c, 'POST', '/api/admin/users', {
    email: 'grace@example.com',
    username: 'grace',
    password: 'staple-battery-horse-1',
  })
  const { page } = await signIn(t, c, '/admin/account', { viewport: PHONE, lang: 'zh-CN' })
  await page.waitForSelector('[data-role=password-form]')
  t.match(await page.textContent('.admin-account'), /修改密码/)
  const width = await page.evaluate(() => document.documentElement.scrollWidth)
  t.ok(width <= PHONE.width, `no page wider than the phone (${width} px)`)
  await screenshot(page, 'admin-account-phone-zh')
  await page.goto('/admin/users?lang=zh-CN')
  await page.click('[data-role=users] tr[data-row="grace"] [data-action=set-password]')
  await page.waitForSelector(dialog)
  t.match(await page.textContent(dialog), /为 grace 设置新密码/)
  await screenshot(page, 'admin-set-password-phone-zh')
})
