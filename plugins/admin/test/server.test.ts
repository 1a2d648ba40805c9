import t, { type Test } from 'tap'
import { definePlugin, type AnyPluginDefinition } from '@parley/core'
import { createTestGateway, type TestGateway } from '@parley/core/testing'
import admin from '@parley/admin'
import identity from '@parley/identity'
import { ADMIN, ensureConsoleBundle } from './console.js'

t.before(ensureConsoleBundle)

const SECTIONS = [
  '/admin',
  '/admin/channels',
  '/admin/models',
  '/admin/users',
  '/admin/groups',
  '/admin/chat-routes',
  '/admin/blocked-ips',
  '/admin/logs',
  '/admin/jobs',
  '/admin/settings',
]

async function boot(t: Test, plugins: AnyPluginDefinition[] = []): Promise<TestGateway> {
  const gateway = await createTestGateway({ plugins: [identity, admin, ...plugins], config: { admin: ADMIN } })
  t.teardown(gateway.close)
  return gateway
}

/** Signs in on the console's login route; answers the cookie line and the token. */
async function consoleLogin(gateway: TestGateway): Promise<{ cookie: string; setCookie: string; token: string }> {
  const response = await gateway.inject({ method: 'POST', url: '/api/auth/admin/login', payload: ADMIN })
  const setCookie = String(response.headers['set-cookie'])
  return {
    cookie: setCookie.split(';')[0] ?? '',
    setCookie,
    token: (response.json() as { access_token: string }).access_token,
  }
}

async function registerUser(gateway: TestGateway, name = 'mallory'): Promise<string> {
  const response = await gateway.inject({
    method: 'POST',
    url: '/api/auth/register',
    payload: {
      email: `${name}@example.com`,
      username: name,
      password: 'correct horse battery',
      password_confirm: 'correct horse battery',
    },
  })
  return (response.json() as { access_token: string }).access_token
}

t.test('console pages send visitors to the console login, with where they were going', async t => {
  const gateway = await boot(t)
  for (const path of SECTIONS) {
    const page = await gateway.inject({ method: 'GET', url: path })
    t.equal(page.statusCode, 302, path)
    t.equal(page.headers.location, `/admin/login?next=${encodeURIComponent(path)}`)
  }
  const login = await gateway.inject({ method: 'GET', url: '/admin/login' })
  t.equal(login.statusCode, 200)
  t.match(login.body, /data-role="login-form"/)
  t.match(login.headers['content-security-policy'], /script-src 'self'/)
  t.notMatch(login.body, /<script>(?!<\/script>)/, 'no inline script')
})

t.test('the admin login sets an httpOnly, SameSite=Strict cookie that opens every section', async t => {
  const gateway = await boot(t)
  const { cookie, setCookie } = await consoleLogin(gateway)
  t.match(setCookie, /^parley_admin=[\w-]+\.[\w-]+\.[\w-]+; Path=\/; Max-Age=86400; HttpOnly; SameSite=Strict$/)
  for (const path of SECTIONS) {
    const page = await gateway.inject({ method: 'GET', url: path, headers: { cookie } })
    t.equal(page.statusCode, 200, path)
    t.match(page.body, /data-admin="console"/)
    for (const link of SECTIONS) t.match(page.body, new RegExp(`href="${link}"`), `${path} links ${link}`)
    t.match(page.body, new RegExp(`href="${path}" aria-current="page"`), 'the current section is marked')
    t.match(page.body, /src="\/admin-assets\/app\.js\?v=[0-9a-f]{12}"/)
  }
  const zh = await gateway.inject({ method: 'GET', url: '/admin/channels?lang=zh-CN', headers: { cookie } })
  t.match(zh.body, /<html lang="zh-CN"/)
  t.match(zh.body, />渠道</, 'the menu in Chinese')
})

t.test('the cookie works on the API only with the console header, and only holds admin tokens', async t => {
  const gateway = await boot(t)
  const { cookie } = await consoleLogin(gateway)
  const bare = await gateway.inject({ method: 'GET', url: '/api/admin/users', headers: { cookie } })
  t.equal(bare.statusCode, 401, 'a cross-site form or image cannot use the cookie: no header, no session')
  const fromConsole = await gateway.inject({
    method: 'GET',
    url: '/api/admin/users',
    headers: { cookie, 'x-parley-console': '1' },
  })
  t.equal(fromConsole.statusCode, 200)
  const post = await gateway.inject({
    method: 'POST',
    url: '/api/admin/groups',
    headers: { cookie, 'content-type': 'application/json' },
    payload: { name: 'csrf' },
  })
  t.equal(post.statusCode, 401, 'a forged POST changes nothing')
  t.equal(
    (await gateway.inject({ method: 'GET', url: '/api/admin/groups', headers: { cookie, 'x-parley-console': '1' } }))
      .json()
      .items.some((g: { name: string }) => g.name === 'csrf'),
    false,
  )

  // A user's own access token placed in the cookie is not an admin session.
  const userToken = await registerUser(gateway)
  const forged = await gateway.inject({
    method: 'GET',
    url: '/admin',
    headers: { cookie: `parley_admin=${userToken}` },
  })
  t.equal(forged.statusCode, 302)
  const forgedApi = await gateway.inject({
    method: 'GET',
    url: '/api/admin/users',
    headers: { cookie: `parley_admin=${userToken}`, 'x-parley-console': '1' },
  })
  t.equal(forgedApi.statusCode, 401)
  const garbage = await gateway.inject({
    method: 'GET',
    url: '/admin',
    headers: { cookie: 'parley_admin=not-a-token' },
  })
  t.equal(garbage.statusCode, 302, 'a broken cookie is a sign-in, not an error page')
})

t.test('sign-out clears the cookie; a demoted admin is sent back to the login', async t => {
  const gateway = await boot(t)
  const { cookie, token } = await consoleLogin(gateway)
  const logout = await gateway.inject({
    method: 'POST',
    url: '/api/auth/admin/logout',
    headers: { cookie, 'x-parley-console': '1' },
  })
  t.equal(logout.statusCode, 204)
  t.match(String(logout.headers['set-cookie']), /^parley_admin=; Path=\/; Max-Age=0; HttpOnly; SameSite=Strict$/)
  t.equal(
    (await gateway.inject({ method: 'GET', url: '/admin', headers: { cookie } })).statusCode,
    302,
    'the signed-out cookie opens nothing',
  )
  t.equal(
    (await gateway.inject({ method: 'GET', url: '/api/admin/users', headers: { authorization: `Bearer ${token}` } }))
      .statusCode,
    401,
    'nor does its token',
  )

  const { token: fresh } = await consoleLogin(gateway)
  const other = await gateway.inject({
    method: 'POST',
    url: '/api/admin/users',
    headers: { authorization: `Bearer ${fresh}` },
    payload: { email: 'eve@example.com', username: 'eve', password: 'correct horse battery', role: 'admin' },
  })
  t.equal(other.statusCode, 201)
  const eve = await gateway.inject({
    method: 'POST',
    url: '/api/auth/admin/login',
    payload: { username: 'eve', password: 'correct horse battery' },
  })
  const eveCookie = String(eve.headers['set-cookie']).split(';')[0] ?? ''
  t.equal((await gateway.inject({ method: 'GET', url: '/admin', headers: { cookie: eveCookie } })).statusCode, 200)
  await gateway.inject({
    method: 'PUT',
    url: `/api/admin/users/${(other.json() as { id: number }).id}`,
    headers: { authorization: `Bearer ${fresh}` },
    payload: { role: 'user' },
  })
  const after = await gateway.inject({ method: 'GET', url: '/admin', headers: { cookie: eveCookie } })
  t.equal(after.statusCode, 302, 'the role is checked on every page load, not only at sign-in')
})

t.test('every admin API route refuses a user with 403 and an anonymous caller with 401', async t => {
  const gateway = await boot(t)
  const userToken = await registerUser(gateway)
  const spec = (await gateway.inject({ method: 'GET', url: '/docs/json' })).json() as {
    paths: Record<string, Record<string, unknown>>
  }
  const routes = Object.entries(spec.paths)
    .filter(([path]) => path.startsWith('/api/admin/'))
    .flatMap(([path, methods]) =>
      Object.keys(methods).map(method => ({
        method: method.toUpperCase(),
        url: path.replace(/\{id\}/g, '1').replace(/\{[a-z_]+\}/g, 'default'),
      })),
    )
  t.ok(routes.length >= 25, `${routes.length} admin routes found`)
  for (const route of routes) {
    const asUser = await gateway.inject({
      method: route.method as 'GET',
      url: route.url,
      headers: { authorization: `Bearer ${userToken}` },
      ...(route.method === 'GET' || route.method === 'DELETE' ? {} : { payload: {} }),
    })
    t.equal(asUser.statusCode, 403, `${route.method} ${route.url} as a user`)
    const anonymous = await gateway.inject({
      method: route.method as 'GET',
      url: route.url,
      ...(route.method === 'GET' || route.method === 'DELETE' ? {} : { payload: {} }),
    })
    t.equal(anonymous.statusCode, 401, `${route.method} ${route.url} anonymous`)
  }
})

t.test("a plugin's console section gets a guarded page and a place in the menu", async t => {
  const dir = t.testdir({
    pages: {
      'tickets.hbs':
        '{{!< default}}\n{{> admin/assets}}\n<div class="admin">{{> admin/nav}}<section class="admin-main"><h1>{{t "tickets.title"}}</h1></section></div>\n',
    },
    locales: {
      'en.json': JSON.stringify({ 'tickets.title': 'Support tickets' }),
      'zh-CN.json': JSON.stringify({ 'tickets.title': '工单' }),
    },
  })
  const tickets = definePlugin({
    id: 'tickets',
    version: '1.0.0',
    core: '^0.1.0',
    setup(ctx) {
      ctx.ui.adminSections.register('tickets', {
        title: 'tickets.title',
        path: '/admin/tickets',
        template: 'tickets',
        templatesDir: dir,
        order: 5,
      })
    },
  })
  const gateway = await boot(t, [tickets])
  t.equal((await gateway.inject({ method: 'GET', url: '/admin/tickets' })).statusCode, 302)
  const { cookie } = await consoleLogin(gateway)
  const page = await gateway.inject({ method: 'GET', url: '/admin/tickets', headers: { cookie } })
  t.equal(page.statusCode, 200)
  t.match(page.body, /<h1>Support tickets<\/h1>/)
  t.match(page.body, /href="\/admin\/tickets" aria-current="page">Support tickets</)
  const dashboard = await gateway.inject({ method: 'GET', url: '/admin', headers: { cookie } })
  t.match(dashboard.body, /href="\/admin\/tickets">Support tickets</, 'the section is in every console menu')
  t.ok(dashboard.body.indexOf('/admin/tickets') < dashboard.body.indexOf('/admin/channels'), 'placed by its order')

  const bad = definePlugin({
    id: 'bad',
    version: '1.0.0',
    core: '^0.1.0',
    setup: ctx =>
      ctx.ui.adminSections.register('x', { title: 'x', path: '/tickets', template: 'tickets', templatesDir: dir }),
  })
  await t.rejects(createTestGateway({ plugins: [identity, admin, bad] }), { code: 'PARLEY_ERR_UI_SECTION_PATH' })
})

t.test('the bundle is served hashed and immutable; a missing bundle says how to build it', async t => {
  const gateway = await boot(t)
  const login = await gateway.inject({ method: 'GET', url: '/admin/login' })
  const src = /src="(\/admin-assets\/app\.js\?v=[0-9a-f]{12})"/.exec(login.body)?.[1] ?? ''
  const js = await gateway.inject({ method: 'GET', url: src })
  t.equal(js.statusCode, 200)
  t.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable')
  t.notMatch(js.body, /cdn\.|https:\/\/unpkg|jsdelivr/, 'Chart.js is in our own bundle, not fetched from a CDN')
  t.equal((await gateway.inject({ method: 'GET', url: '/admin-assets/../package.json' })).statusCode, 404)
})

t.test("the active theme's settings are runtime settings: checked, and applied to the next page", async t => {
  const gateway = await boot(t)
  const { cookie, token } = await consoleLogin(gateway)
  const auth = { authorization: `Bearer ${token}` }
  const schema = (await gateway.inject({ method: 'GET', url: '/api/admin/config/schema', headers: auth })).json() as {
    items: Array<{ key: string; owner: string; default: unknown }>
  }
  t.match(
    schema.items.filter(item => item.key.startsWith('theme.')),
    [
      { key: 'theme.accent_color', owner: 'theme:default', default: '#3b6cf6' },
      { key: 'theme.color_scheme', owner: 'theme:default', default: 'auto' },
      { key: 'theme.show_powered_by', owner: 'theme:default', default: true },
    ],
  )
  const bad = await gateway.inject({
    method: 'PUT',
    url: '/api/admin/config',
    headers: auth,
    payload: { 'theme.color_scheme': 'purple', 'theme.show_powered_by': false },
  })
  t.equal(bad.statusCode, 400)
  t.equal(
    (bad.json() as { error: { field: string } }).error.field,
    'theme.color_scheme',
    'the refusal names the setting',
  )
  t.match(
    (await gateway.inject({ method: 'GET', url: '/admin', headers: { cookie } })).body,
    /Powered by/,
    'nothing changed',
  )

  const good = await gateway.inject({
    method: 'PUT',
    url: '/api/admin/config',
    headers: auth,
    payload: { 'theme.color_scheme': 'dark', 'theme.show_powered_by': false },
  })
  t.equal(good.statusCode, 200)
  const page = await gateway.inject({ method: 'GET', url: '/admin', headers: { cookie } })
  t.match(page.body, /data-color-scheme="dark"/)
  t.notMatch(page.body, /Powered by/)
})
