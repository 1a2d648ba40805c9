import { asAdmin, bootConsole, browserTest, fill, screenshot, signIn } from './console.js'

const dialog = 'dialog[open]'

browserTest('an admin creates a channel with two keys, tests it, binds a model and routes a group to it', async t => {
  const c = await bootConsole(t)
  const { page } = await signIn(t, c, '/admin/channels', { expected: [/status of 400/] })

  await page.click('[data-action=create-channel]')
  await fill(page, dialog, 'name', 'Primary')
  await page.selectOption(`${dialog} [data-field=provider] select`, 'scripted')
  await fill(page, dialog, 'base_url', 'https://1.1.1.1/v1')
  await fill(page, dialog, 'keys', 'sk-first-key-000000000001\nsk-second-key-00000000002')
  await fill(page, dialog, 'models', 'gpt-4o-mini')
  await page.click(`${dialog} [data-action=save]`)
  await page.waitForSelector('[data-role=channels] tr[data-row="Primary"]')
  t.match(await page.textContent('[data-role=channels] tr[data-row="Primary"]'), /2 of 2 on/, 'both keys stored and on')
  const stored = (await asAdmin(c, 'GET', '/api/admin/channels')) as {
    items: Array<{ id: number; keys: Array<{ hint: string }> }>
  }
  t.equal(stored.items[0]?.keys.length, 2)
  t.notMatch(await page.content(), /sk-first-key-000000000001/, 'the plaintext key is not on the page after saving')

  // The test is a real round trip through each key, with its result and latency.
  c.provider.reply({
    events: [
      { type: 'text', delta: 'pong' },
      { type: 'done', finishReason: 'stop' },
    ],
  })
  c.provider.reply({
    events: [
      { type: 'text', delta: 'pong' },
      { type: 'done', finishReason: 'stop' },
    ],
  })
  await page.click('[data-role=channels] tr[data-row="Primary"] [data-action=test]')
  await page.waitForSelector(`${dialog} [data-role=test-verdict][data-ok=true]`)
  t.equal(await page.locator(`${dialog} [data-role=test-results] tbody tr`).count(), 2, 'one result per key')
  t.match(await page.textContent(`${dialog} [data-role=test-results]`), /\d+ ms/)
  t.equal(c.provider.calls.length, 2, 'two real calls went out')
  await page.click(`${dialog} [data-action=close]`)

  // Bind an alias to an upstream name on that channel.
  await page.click('.admin-nav a[href="/admin/models"]')
  await page.waitForSelector('[data-action=bind-model]')
  await page.click('[data-action=bind-model]')
  await fill(page, dialog, 'model', 'fast')
  await fill(page, dialog, 'upstream_model', 'gpt-4o-mini-2024-07-18')
  await page.click(`${dialog} [data-action=save]`)
  await page.waitForSelector('[data-role=bindings] tr[data-row="Primary:fast"]')
  t.match(await page.textContent('[data-role=bindings] tr[data-row="Primary:fast"]'), /gpt-4o-mini-2024-07-18/)
  t.match(
    await page.textContent('[data-role=models] tr[data-row="fast"]'),
    /Primary/,
    'the catalog lists the new model as served by the channel',
  )
  await screenshot(page, 'admin-models')

  // A chat route the server refuses shows its reason next to the channel field, then one it takes.
  await asAdmin(c, 'POST', '/api/admin/groups', { name: 'vip' })
  await page.click('.admin-nav a[href="/admin/chat-routes"]')
  await page.waitForSelector('[data-role=route-form]')
  await page.selectOption('[data-field=group_name] select', 'vip')
  await page.click('[data-action=save-route]')
  await page.waitForSelector('[data-field=channel_id] [data-role=field-error]:not([hidden])')
  t.match(await page.textContent('[data-field=channel_id] [data-role=field-error]'), /does not serve group vip/)
  t.equal(await page.locator('[data-role=routes] tbody tr[data-row]').count(), 0, 'nothing was saved')
  await page.selectOption('[data-field=group_name] select', 'default')
  await page.click('[data-action=save-route]')
  await page.waitForSelector('[data-role=routes] tr[data-row="default"]')
  t.match(await page.textContent('[data-role=routes] tr[data-row="default"]'), /Primary/)
  const routes = (await asAdmin(c, 'GET', '/api/admin/chat-routes')) as { items: Array<{ group_name: string }> }
  t.same(
    routes.items.map(r => r.group_name),
    ['default'],
  )
  await screenshot(page, 'admin-chat-routes')

  // Editing: one key disabled, the other removed, a new one added; the channel disabled.
  await page.click('.admin-nav a[href="/admin/channels"]')
  await page.click('[data-role=channels] tr[data-row="Primary"] [data-action=edit]')
  const keyRows = page.locator(`${dialog} [data-role=keys] tbody tr`)
  t.equal(await keyRows.count(), 2)
  await keyRows.nth(0).locator('input').nth(0).uncheck()
  await keyRows.nth(1).locator('input').nth(1).check()
  await fill(page, dialog, 'new_keys', 'sk-third-key-000000000003')
  await page.click(`${dialog} [data-action=save]`)
  await page.waitForSelector('[data-role=channels] tr[data-row="Primary"]:has-text("1 of 2 on")')
  await screenshot(page, 'admin-channels')
})

browserTest(
  "a provider's settings form comes from its schema; a secret is write-only; a bad base URL is refused beside its field",
  async t => {
    const c = await bootConsole(t)
    const { page } = await signIn(t, c, '/admin/channels', { expected: [/status of 400/] })
    await page.click('[data-action=create-channel]')
    await page.selectOption(`${dialog} [data-field=provider] select`, 'acme')
    await page.waitForSelector(`${dialog} [data-field=region] select`)
    t.same(
      await page.$$eval(`${dialog} [data-field=region] option`, options =>
        options.map(o => (o as HTMLOptionElement).value),
      ),
      ['eu', 'us'],
      'a union of constants is a select',
    )
    t.equal(await page.inputValue(`${dialog} [data-field=max_retries] input`), '2', 'defaults filled in')
    t.equal(await page.textContent(`${dialog} [data-field=region] .admin-help`), 'Where the Acme account lives')
    await fill(page, dialog, 'name', 'Acme')
    await fill(page, dialog, 'base_url', 'http://169.254.169.254/latest')
    await page.selectOption(`${dialog} [data-field=region] select`, 'us')
    await fill(page, dialog, 'signing_secret', 'acme-signing-secret-value')
    await page.click(`${dialog} [data-action=save]`)
    await page.waitForSelector(`${dialog} [data-field=base_url] [data-role=field-error]:not([hidden])`)
    t.ok(
      (await page.textContent(`${dialog} [data-field=base_url] [data-role=field-error]`))?.length,
      'the SSRF refusal is shown next to the base URL',
    )
    t.equal(((await asAdmin(c, 'GET', '/api/admin/channels')) as { total: number }).total, 0, 'nothing was saved')

    await fill(page, dialog, 'base_url', 'https://1.1.1.1/acme')
    await page.click(`${dialog} [data-action=save]`)
    await page.waitForSelector('[data-role=channels] tr[data-row="Acme"]')
    const [channel] = (
      (await asAdmin(c, 'GET', '/api/admin/channels')) as {
        items: Array<{ id: number; settings: Record<string, unknown> }>
      }
    ).items
    t.equal(channel?.settings.region, 'us')
    t.equal(channel?.settings.max_retries, 2)
    t.not(channel?.settings.signing_secret, 'acme-signing-secret-value', 'the secret is sealed, only a hint comes back')

    await page.click('[data-role=channels] tr[data-row="Acme"] [data-action=edit]')
    t.equal(
      await page.inputValue(
        `${dialog} [data-field=signing_secret] textarea, ${dialog} [data-field=signing_secret] input`,
      ),
      '',
      'a stored secret is never put back in the form',
    )
    t.match(
      await page.getAttribute(
        `${dialog} [data-field=signing_secret] textarea, ${dialog} [data-field=signing_secret] input`,
        'placeholder',
      ),
      /Stored/,
    )
    await page.click(`${dialog} [data-action=save]`)
    await page.waitForSelector(`${dialog}`, { state: 'detached' })
    await c.gateway.catalog.reload()
    const after = c.gateway.catalog.current().channels.find(ch => ch.id === channel?.id)
    t.equal(after?.settings.signing_secret, 'acme-signing-secret-value', 'saving without retyping keeps the secret')
    t.equal(after?.settings.region, 'us')

    // Delete asks first; cancelling keeps the channel.
    await page.click('[data-role=channels] tr[data-row="Acme"] [data-action=delete]')
    await page.click(`${dialog} [data-action=cancel]`)
    t.equal(((await asAdmin(c, 'GET', '/api/admin/channels')) as { total: number }).total, 1)
    await page.click('[data-role=channels] tr[data-row="Acme"] [data-action=delete]')
    await page.click(`${dialog} [data-action=confirm]`)
    await page.waitForSelector('[data-role=channels] tr[data-row="Acme"]', { state: 'detached' })
    t.equal(((await asAdmin(c, 'GET', '/api/admin/channels')) as { total: number }).total, 0)
  },
)
