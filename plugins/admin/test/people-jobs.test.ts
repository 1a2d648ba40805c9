import { definePlugin } from '@parley/core'
import { asAdmin, bootConsole, browserTest, PHONE, screenshot, signIn, until } from './console.js'

const dialog = 'dialog[open]'

browserTest(
  'users and groups: create a group with its limit, create a user in it, change their role; errors stay beside their fields',
  async t => {
    const c = await bootConsole(t)
    const { page } = await signIn(t, c, '/admin/groups', { expected: [/status of 409/] })
    await page.click('[data-action=create-group]')
    await page.fill(`${dialog} [data-field=name] input`, 'vip')
    await page.fill(`${dialog} [data-field=rpm] input`, '120')
    await page.check(`${dialog} [data-field=models_restricted] input`)
    await page.fill(`${dialog} [data-field=models] textarea`, 'echo\nother')
    await page.click(`${dialog} [data-action=save]`)
    await page.waitForSelector('[data-role=groups] tr[data-row="vip"]')
    type Groups = { items: Array<{ name: string; rpm: number | null; models: string[] | null }> }
    const groups = (await asAdmin(c, 'GET', '/api/admin/groups')) as Groups
    t.match(
      groups.items.find(g => g.name === 'vip'),
      { name: 'vip', rpm: 120, models: ['echo', 'other'] },
      'stored as entered',
    )

    // "No model at all" is a restriction with an empty list, and an edit of another field keeps it.
    await page.click('[data-action=create-group]')
    await page.fill(`${dialog} [data-field=name] input`, 'closed')
    await page.check(`${dialog} [data-field=models_restricted] input`)
    await page.click(`${dialog} [data-action=save]`)
    await page.waitForSelector('[data-role=groups] tr[data-row="closed"]')
    await page.click('[data-role=groups] tr[data-row="closed"] [data-action=edit]')
    t.ok(await page.isChecked(`${dialog} [data-field=models_restricted] input`), 'the restriction shows when editing')
    await page.fill(`${dialog} [data-field=description] input`, 'no models for now')
    await page.click(`${dialog} [data-action=save]`)
    await until(
      async () =>
        ((await asAdmin(c, 'GET', '/api/admin/groups')) as Groups).items.some(
          g => g.name === 'closed' && g.models !== null && g.models.length === 0,
        ),
      'the edit of closed',
    )
    t.match(
      ((await asAdmin(c, 'GET', '/api/admin/groups')) as Groups).items.find(g => g.name === 'closed'),
      { models: [] },
      'still no model after an edit',
    )
    t.match(await page.textContent('[data-role=groups] tr[data-row="closed"]'), /None/)
    await screenshot(page, 'admin-groups')

    await page.click('.admin-nav a[href="/admin/users"]')
    await page.click('[data-action=create-user]')
    await page.fill(`${dialog} [data-field=email] input`, 'grace@example.com')
    await page.fill(`${dialog} [data-field=username] input`, 'grace')
    await page.fill(`${dialog} [data-field=password] input`, 'correct horse battery')
    await page.selectOption(`${dialog} [data-field=group] select`, 'vip')
    await page.click(`${dialog} [data-action=save]`)
    await page.waitForSelector('[data-role=users] tr[data-row="grace"]')
    t.match(await page.textContent('[data-role=users] tr[data-row="grace"]'), /vip/)

    // The same email again: the refusal sits next to the email field, the dialog stays open.
    await page.click('[data-action=create-user]')
    await page.fill(`${dialog} [data-field=email] input`, 'grace@example.com')
    await page.fill(`${dialog} [data-field=username] input`, 'grace2')
    await page.fill(`${dialog} [data-field=password] input`, 'correct horse battery')
    await page.click(`${dialog} [data-action=save]`)
    await page.waitForSelector(`${dialog} [data-field=email] [data-role=field-error]:not([hidden])`)
    t.equal(await page.getAttribute(`${dialog} [data-field=email] input`, 'aria-invalid'), 'true')
    await page.click(`${dialog} [data-action=cancel]`)

    await page.click('[data-role=users] tr[data-row="grace"] [data-action=edit]')
    await page.selectOption(`${dialog} [data-field=role] select`, 'admin')
    await page.selectOption(`${dialog} [data-field=status] select`, 'disabled')
    await page.click(`${dialog} [data-action=save]`)
    await page.waitForSelector('[data-role=users] tr[data-row="grace"]:has-text("Admin"):has-text("Disabled")')

    // Filters page through the list.
    await page.fill('[data-role=user-filters] input[type=search]', 'grace')
    await page.click('[data-role=user-filters] button[type=submit]')
    await page.waitForFunction(() => document.querySelectorAll('[data-role=users] tbody tr[data-row]').length === 1)
    await screenshot(page, 'admin-users')
  },
)

browserTest('background jobs: a failed run shows its error and a retry runs it again', async t => {
  let runs = 0
  const flaky = definePlugin({
    id: 'fixture',
    version: '1.0.0',
    core: '^0.1.0',
    setup(ctx) {
      ctx.jobs.define({
        name: 'fixture.flaky',
        attempts: 1,
        async handler() {
          runs++
          if (runs === 1) throw new Error('the mail server said no')
        },
      })
    },
  })
  const c = await bootConsole(t, { plugins: [flaky] })
  await c.gateway.jobs.enqueue('fixture.flaky', {})
  await until(
    async () =>
      (
        (await asAdmin(c, 'GET', '/api/admin/jobs')) as { items: Array<{ name: string; counts: { failed: number } }> }
      ).items.some(j => j.name === 'fixture.flaky' && j.counts.failed === 1),
    'the failure',
  )

  const { page } = await signIn(t, c, '/admin/jobs')
  await page.waitForSelector('[data-role=jobs] tr[data-row="core.retention"]')
  t.match(
    await page.textContent('[data-role=jobs] tr[data-row="core.retention"]'),
    /30 19 \* \* \*/,
    'the retention job with its schedule',
  )
  await page.click('[data-role=jobs] tr[data-row="fixture.flaky"] [data-action=failures]')
  await page.waitForSelector('[data-role=job-runs] tbody tr:has-text("the mail server said no")')
  await screenshot(page, 'admin-jobs')
  await page.click('[data-role=job-runs] [data-action=retry]')
  await until(() => runs === 2, 'the second run')
  await page.waitForSelector('[data-role=notice]:has-text("queued again")')
  await until(
    async () =>
      (
        (await asAdmin(c, 'GET', '/api/admin/jobs')) as {
          items: Array<{ name: string; counts: { completed: number } }>
        }
      ).items.some(j => j.name === 'fixture.flaky' && j.counts.completed === 1),
    'the completed run',
  )
})

browserTest('the console in Chinese on a phone; sign-in never redirects off the console', async t => {
  const c = await bootConsole(t)
  const { page } = await signIn(t, c, '/admin/channels', { viewport: PHONE, lang: 'zh-CN' })
  await page.waitForSelector('h1:has-text("渠道")')
  t.equal(
    await page.textContent('[data-action=create-channel]'),
    '新建渠道',
    "the bundle's texts follow the page language",
  )
  await screenshot(page, 'admin-channels-phone-zh')

  await page.click('.admin-nav [data-action=logout]')
  await page.waitForURL(url => url.pathname === '/admin/login')
  await page.goto('/admin/login?next=//evil.example/steal')
  await page.fill('input[name=username]', 'admin')
  await page.fill('input[name=password]', 'console-admin-password')
  await Promise.all([
    page.waitForURL(url => url.pathname === '/admin'),
    page.click('[data-role=login-form] button[type=submit]'),
  ])
  t.equal(new URL(page.url()).host, new URL(c.url).host, 'an outside next= is ignored')
})

browserTest('the console inside the ink theme', async t => {
  const c = await bootConsole(t, { theme: 'ink' })
  const { page } = await signIn(t, c, '/admin/users')
  await page.waitForSelector('[data-role=users] tr[data-row="admin"]')
  t.ok(await page.$('html.ink'), "ink's layout")
  const background = await page.$eval('.admin-table-wrap', element => getComputedStyle(element).backgroundColor)
  t.equal(background, 'rgb(30, 27, 22)', "the console's surfaces use the theme's colours")
  await screenshot(page, 'admin-users-ink')
})

browserTest('lists the API answers whole (groups, models) are paged in the page as well', async t => {
  const c = await bootConsole(t)
  for (let i = 0; i < 25; i++)
    await asAdmin(c, 'POST', '/api/admin/groups', { name: `team-${String(i).padStart(2, '0')}` })
  const { page } = await signIn(t, c, '/admin/groups')
  await page.waitForSelector('[data-role=groups] tbody tr[data-row]')
  t.equal(await page.locator('[data-role=groups] tbody tr[data-row]').count(), 20, 'twenty on the first page')
  t.match(await page.textContent('[data-role=page-info]'), /Page 1 of 2 · 26 in all/)
  await page.click('[data-action=next-page]')
  await page.waitForFunction(() => document.querySelectorAll('[data-role=groups] tbody tr[data-row]').length === 6)
  t.match(await page.textContent('[data-role=page-info]'), /Page 2 of 2/)
  t.ok(await page.isDisabled('[data-action=next-page]'))
})
