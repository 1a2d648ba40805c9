import { asAdmin, bootConsole, browserTest, screenshot, signIn, until } from './console.js'

const dialog = 'dialog[open]'

/** A channel serving `echo` to the default group, answered by the scripted provider. */
async function echoChannel(c: Awaited<ReturnType<typeof bootConsole>>): Promise<void> {
  const channel = (await asAdmin(c, 'POST', '/api/admin/channels', {
    name: 'Echo',
    provider: 'scripted',
    base_url: 'https://1.1.1.1/v1',
    keys: ['sk-echo-000000000000000'],
    models: ['echo', 'other'],
  })) as { id: number }
  await until(
    () => c.gateway.catalog.current().channels.some(ch => ch.id === channel.id),
    'the channel in the snapshot',
  )
}

async function guestChat(url: string): Promise<Response> {
  return fetch(`${url}/api/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'echo', messages: [{ role: 'user', content: 'hi' }] }),
  })
}

browserTest(
  'the guest RPM changed in the settings form takes effect at once; a refused value changes nothing',
  async t => {
    const c = await bootConsole(t, { settings: { allow_guest: true, guest_rpm: 0 } })
    await echoChannel(c)
    const { page } = await signIn(t, c, '/admin/settings', { expected: [/status of 400/] })
    const core = '[data-role=settings-form][data-owner=core]'
    await page.waitForSelector(core)
    t.equal(await page.inputValue(`${core} [data-field=guest_rpm] input`), '0')
    t.ok(
      await page.isVisible(
        '[data-role=settings-form][data-owner="theme:default"] [data-field="theme.accent_color"] input[type=color]',
      ),
      'theme settings are there too, a colour as a colour picker',
    )
    t.ok(await page.isVisible('[data-role=settings-form][data-owner=rate-limit]'), 'and plugin settings')

    // A value the schema refuses is shown beside its field and nothing is written.
    await page.fill(`${core} [data-field=site_name] input`, '')
    await page.fill(`${core} [data-field=guest_rpm] input`, '1')
    await page.click(`${core} [data-action=save-settings]`)
    await page.waitForSelector(`${core} [data-field=site_name] [data-role=field-error]:not([hidden])`)
    t.equal(c.gateway.settings.get('guest_rpm'), 0, 'the valid change in the same save was not applied either')

    await page.fill(`${core} [data-field=site_name] input`, 'Parley')
    await page.click(`${core} [data-action=save-settings]`)
    await page.waitForSelector('[data-role=notice]:has-text("Settings saved")')
    t.equal(c.gateway.settings.get('guest_rpm'), 1)
    t.equal((await guestChat(c.url)).status, 200, 'the first guest call of the minute passes')
    const refused = await guestChat(c.url)
    t.equal(refused.status, 429, 'the second is refused under the new limit')
    t.ok(refused.headers.get('retry-after'))
    await screenshot(page, 'admin-settings')

    // A theme setting changes the live theme: the colour stylesheet the pages link changes.
    const before = await page.getAttribute('link[href*=".custom.css"]', 'href')
    await page.fill('[data-owner="theme:default"] [data-field="theme.accent_color"] input', '#aa3355')
    await page.click('[data-owner="theme:default"] [data-action=save-settings]')
    // The core form's "Settings saved" may still be shown: wait for this save itself.
    await until(() => c.gateway.settings.get('theme.accent_color') === '#aa3355', 'the theme setting saved')
    await page.reload()
    await page.waitForSelector(core)
    const after = await page.getAttribute('link[href*=".custom.css"]', 'href')
    t.not(after, before, 'a new stylesheet URL')
    const css = await (await fetch(`${c.url}${after}`)).text()
    t.match(css, /--custom-accent-color: #aa3355;/)
  },
)

browserTest('blocking a CIDR refuses its requests (never the console) and lists each refused attempt', async t => {
  const c = await bootConsole(t)
  const { page } = await signIn(t, c, '/admin/blocked-ips', { expected: [/status of 400/] })
  await page.fill('[data-field=ip_address] input', '127.0.0.0/33')
  await page.click('[data-action=block]')
  await page.waitForSelector('[data-field=ip_address] [data-role=field-error]:not([hidden])')
  t.match(await page.textContent('[data-field=ip_address] [data-role=field-error]'), /CIDR/)

  await page.fill('[data-field=ip_address] input', '127.0.0.0/8')
  await page.fill('[data-field=reason] input', 'test run')
  await page.click('[data-action=block]')
  await page.waitForSelector('[data-role=rules] tr[data-row="127.0.0.0/8"]')
  await until(async () => (await fetch(`${c.url}/api/chat/models`)).status === 403, 'the rule on the data plane')
  const refused = await fetch(`${c.url}/v1/models`)
  t.equal(refused.status, 403, 'the data plane refuses the blocked range')
  t.equal(((await refused.json()) as { error: { type: string } }).error.type, 'ip_blocked')
  await page.reload()
  await page.waitForSelector('[data-role=attempts] tbody tr:has-text("/v1/models")')
  t.match(await page.textContent('[data-role=attempts]'), /127\.0\.0\.1/, 'the attempt names the address')
  t.match(await page.textContent('[data-role=attempts]'), /GET \/v1\/models/)
  await screenshot(page, 'admin-blocked-ips')

  await page.click('[data-role=rules] tr[data-row="127.0.0.0/8"] [data-action=unblock]')
  await page.click(`${dialog} [data-action=confirm]`)
  await page.waitForSelector('[data-role=rules] tr[data-row="127.0.0.0/8"]', { state: 'detached' })
  await until(async () => (await fetch(`${c.url}/v1/models`)).status !== 403, 'the rule gone')
})

browserTest('usage logs filter and page; the CSV of the filter downloads; the dashboard draws its charts', async t => {
  const c = await bootConsole(t, { settings: { allow_guest: true } })
  await echoChannel(c)
  for (const model of ['echo', 'echo', 'echo', 'other']) {
    const response = await fetch(`${c.url}/api/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
    })
    t.equal(response.status, 200)
  }
  await c.gateway.usage.flush()

  const { page } = await signIn(t, c, '/admin')
  await page.waitForSelector('canvas[data-chart=models][data-drawn=true]')
  await page.waitForSelector('canvas[data-chart=daily][data-drawn=true]')
  t.equal(await page.textContent('[data-stat=today] .admin-stat-value'), '4')
  const painted = await page.$eval('canvas[data-chart=models]', canvas => {
    const context = (canvas as HTMLCanvasElement).getContext('2d')
    const { width, height } = canvas as HTMLCanvasElement
    const pixels = context?.getImageData(0, 0, width, height).data ?? new Uint8ClampedArray()
    let inked = 0
    for (let i = 3; i < pixels.length; i += 4) if ((pixels[i] ?? 0) > 0) inked++
    return inked
  })
  t.ok(painted > 1000, `the pie is drawn (${painted} pixels)`)
  await screenshot(page, 'admin-dashboard')

  await page.click('.admin-nav a[href="/admin/logs"]')
  await page.waitForSelector('[data-role=logs] tbody tr')
  t.equal(await page.locator('[data-role=logs] tbody tr').count(), 4)
  await page.fill('[data-role=log-filters] input[aria-label=Model]', 'other')
  await page.click('[data-role=log-filters] [data-action=filter]')
  await page.waitForFunction(() => document.querySelectorAll('[data-role=logs] tbody tr').length === 1)
  t.match(await page.textContent('[data-role=logs] tbody'), /other/)
  t.match(await page.textContent('[data-role=logs] tbody'), /127\.0\.0\.1/, "the caller's address is shown")
  t.match(await page.textContent('[data-role=logs] tbody'), /Guest/)
  t.match(await page.textContent('[data-role=page-info]'), /1 in all/)
  await screenshot(page, 'admin-logs')

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-action=export]')])
  t.match(download.suggestedFilename(), /^usage-logs-\d{4}-\d{2}-\d{2}\.csv$/)
  const csv = await (await download.createReadStream()).toArray()
  const lines = Buffer.concat(csv as Buffer[])
    .toString('utf8')
    .trim()
    .split(/\r?\n/)
  t.equal(lines.length, 2, 'the header and the one row of the filter')
  t.match(lines[1], /other/)
})
