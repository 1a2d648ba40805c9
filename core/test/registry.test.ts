import t from 'tap'
import { definePlugin, type AnyPluginDefinition, type PluginContext } from '@parley/core'
import { createTestGateway } from '@parley/core/testing'
import { Registry } from '../src/kernel/registry.js'

const TEMPLATES = import.meta.dirname
const page = (path: string) => ({ path, template: 'page', templatesDir: TEMPLATES, access: 'public' as const })
const plugin = (id: string, setup: (ctx: PluginContext) => void): AnyPluginDefinition =>
  definePlugin({ id, version: '1.0.0', setup })

t.test('ids belong to their plugin: two plugins may each have a login page, a nav and an assets partial', async t => {
  const dir = t.testdir({ 'front.hbs': 'front', 'back.hbs': 'back', pages: { 'page.hbs': 'a page' } })
  const ui = (id: string) =>
    plugin(id, ctx => {
      ctx.ui.pages.register('login', { ...page(`/${id}/login`), templatesDir: dir })
      ctx.ui.nav.register('nav', { label: id, href: `/${id}/login`, area: 'portal', access: 'public' })
      ctx.ui.partials.register('assets', { name: `${id}/assets`, file: `${dir}/${id}.hbs` })
      ctx.limits.register('rpm', { check: () => ({ allowed: true }) })
    })
  const gateway = await createTestGateway({ plugins: [ui('front'), ui('back')], start: false })
  t.teardown(gateway.close)
  t.same(
    gateway.registries.uiPages.list().map(entry => [entry.owner, entry.id, entry.key]),
    [
      ['front', 'login', 'front/login'],
      ['back', 'login', 'back/login'],
    ],
  )
  t.equal(gateway.registries.uiPartials.list().length, 2)
  t.equal((await gateway.inject({ method: 'GET', url: '/back/login' })).statusCode, 200)
  t.equal(gateway.registries.limits.items().length, 2)
})

t.test('what really collides is refused, naming both plugins and the path or name', async t => {
  const cases: Array<[string, AnyPluginDefinition[], { code: string; message: RegExp }]> = [
    [
      'two pages on one path',
      [
        plugin('one', ctx => ctx.ui.pages.register('home', page('/'))),
        plugin('two', ctx => ctx.ui.pages.register('start', page('/'))),
      ],
      {
        code: 'PARLEY_ERR_PLUGIN_SETUP',
        message:
          /two failed during setup: PARLEY_ERR_REGISTRY_CONFLICT: UI page "start" of two has the path "\/" of UI page "home" of one/,
      },
    ],
    [
      'two partials of one name',
      [
        plugin('one', ctx => ctx.ui.partials.register('nav', { name: 'shared/nav', file: 'a.hbs' })),
        plugin('two', ctx => ctx.ui.partials.register('menu', { name: 'shared/nav', file: 'b.hbs' })),
      ],
      {
        code: 'PARLEY_ERR_PLUGIN_SETUP',
        message: /UI partial "menu" of two has the name "shared\/nav" of UI partial "nav" of one/,
      },
    ],
    [
      'two providers of one name',
      [
        plugin('one', ctx => ctx.providers.register('echo', {} as never)),
        plugin('two', ctx => ctx.providers.register('echo', {} as never)),
      ],
      { code: 'PARLEY_ERR_PLUGIN_SETUP', message: /Chat provider "echo" of two is already registered by one/ },
    ],
    [
      'one id twice in one plugin',
      [plugin('one', ctx => [1, 2].forEach(() => ctx.ui.pages.register('home', page(`/${Math.random()}`))))],
      { code: 'PARLEY_ERR_PLUGIN_SETUP', message: /UI page "home" of one is already registered by one/ },
    ],
    [
      'a console section on a page of another plugin',
      [
        plugin('one', ctx => ctx.ui.pages.register('tickets', page('/admin/tickets'))),
        plugin('two', ctx =>
          ctx.ui.adminSections.register('tickets', {
            title: 'Tickets',
            path: '/admin/tickets',
            template: 'tickets',
            templatesDir: TEMPLATES,
          }),
        ),
      ],
      {
        code: 'PARLEY_ERR_REGISTRY_CONFLICT',
        message: /UI page "section:tickets" of two has the path "\/admin\/tickets" of UI page "tickets" of one/,
      },
    ],
  ]
  for (const [name, plugins, expected] of cases) {
    await t.rejects(createTestGateway({ plugins, start: false }), expected, name)
  }
})

t.test('a registry keys plugin ids by owner, shared ids by themselves, core ids bare', async t => {
  const owned = new Registry<string>('Thing')
  owned.register('a', 'core a', 'core')
  owned.register('a', 'x a', 'x')
  t.equal(owned.get('a'), 'core a')
  t.equal(owned.get('x/a'), 'x a')
  const shared = new Registry<string>('Name', { shared: true })
  shared.register('a', 'x a', 'x')
  t.equal(shared.get('a'), 'x a')
  t.throws(() => shared.register('a', 'y a', 'y'), {
    code: 'PARLEY_ERR_REGISTRY_DUPLICATE',
    message: /"a" of y is already registered by x/,
  })
})
