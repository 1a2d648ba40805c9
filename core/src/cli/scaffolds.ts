/*
 * The files `parley new plugin|theme <name>` writes: the smallest plugin or theme that follows
 * the house rules (docs/plugins.md, docs/themes.md) and has a test that passes, so an author
 * starts from green. The examples/ folder has the complete versions.
 */

/** Relative path → content. */
export type Scaffold = Record<string, string>

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`
const words = (name: string) => name.split('-').join(' ')
const constant = (name: string) => name.toUpperCase().replace(/-/g, '_')

export function pluginScaffold(name: string, coreVersion: string): Scaffold {
  const code = `PARLEY_ERR_${constant(name)}_TOO_LONG`
  return {
    'package.json': json({
      name: `parley-plugin-${name}`,
      version: '0.1.0',
      private: true,
      description: `A Parley plugin: ${words(name)}`,
      type: 'module',
      exports: { '.': { 'parley-source': './src/index.ts', default: './src/index.ts' } },
      scripts: { test: 'tap' },
      tap: { 'disable-coverage': true, 'node-arg': ['--conditions=parley-source'] },
      dependencies: { '@parley/core': `^${coreVersion}` },
      devDependencies: { tap: '^21.8.0', typescript: '^5.9.0' },
    }),
    'tsconfig.json': json({
      compilerOptions: {
        target: 'ES2022',
        lib: ['ES2023', 'ES2024.String'],
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        customConditions: ['parley-source'],
        strict: true,
        noEmit: true,
        verbatimModuleSyntax: true,
        skipLibCheck: true,
        types: ['node'],
      },
      include: ['src', 'test'],
    }),
    'README.md': `# parley-plugin-${name}

A Parley plugin, made with \`parley new plugin ${name}\`. It answers
\`GET /api/${name}/hello\` with a greeting whose length an admin can limit (the setting
\`${name}.max_length\`). Load it by listing this folder in the config's \`plugins\`:

\`\`\`yaml
plugins:
  - ./${name}
\`\`\`

\`npm test\` boots a real gateway with the plugin (\`@parley/core/testing\`). The contract is in
Parley's docs/plugins.md; docs/tutorial-plugin.md walks through a complete plugin.
`,
    'src/index.ts': `import { defineErrors, definePlugin, Type } from '@parley/core'

/** The plugin's errors: stable codes, English and Simplified Chinese. */
const errors = defineErrors({
  ${code}: {
    status: 400,
    type: 'invalid_request',
    message: 'A name may have at most {max} characters',
    zh: '名字最多 {max} 个字符',
  },
})

/** ${words(name)}: one route and one setting, to start from. */
export default definePlugin({
  id: '${name}',
  version: '0.1.0',
  core: '^${coreVersion}',
  options: Type.Object({ greeting: Type.String({ minLength: 1, default: 'Hello' }) }),
  setup(ctx) {
    const maxLength = ctx.settings.define({
      key: 'max_length',
      schema: Type.Integer({ minimum: 1, maximum: 1000 }),
      default: 40,
      description: 'Longest name the greeting accepts',
    })
    ctx.http.get(
      '/api/${name}/hello',
      { schema: { querystring: Type.Object({ name: Type.String({ minLength: 1, default: 'world' }) }) } },
      async request => {
        const max = maxLength.get()
        if (request.query.name.length > max) throw errors.${code}({ max })
        return { message: \`\${ctx.options.greeting}, \${request.query.name}!\` }
      },
    )
  },
})
`,
    [`test/${name}.test.ts`]: `import t from 'tap'
import { createTestGateway } from '@parley/core/testing'
import plugin from '../src/index.js'

t.test('the greeting, its option and its limit', async t => {
  const gateway = await createTestGateway({ plugins: [{ plugin, options: { greeting: 'Hi' } }] })
  t.teardown(gateway.close)

  const hello = await gateway.inject({ url: '/api/${name}/hello?name=Ada' })
  t.equal(hello.statusCode, 200)
  t.same(hello.json(), { message: 'Hi, Ada!' })

  await gateway.settings.set('${name}.max_length', 2)
  const refused = await gateway.inject({ url: '/api/${name}/hello?name=Ada', headers: { 'accept-language': 'zh-CN' } })
  t.equal(refused.statusCode, 400)
  t.same(refused.json(), {
    error: { type: 'invalid_request', message: '名字最多 2 个字符', code: '${code}' },
  })
})
`,
  }
}

export function themeScaffold(name: string, coreVersion: string): Scaffold {
  return {
    'package.json': json({
      name: `parley-theme-${name}`,
      version: '0.1.0',
      private: true,
      description: `A Parley theme: ${words(name)}`,
      type: 'module',
      engines: { parley: `^${coreVersion}` },
      scripts: { test: 'tap' },
      tap: { 'disable-coverage': true, 'node-arg': ['--conditions=parley-source'] },
      config: {
        custom: {
          accent_color: { type: 'color', default: '#2f6f4e', description: 'Links and buttons' },
        },
      },
      devDependencies: { '@parley/core': `^${coreVersion}`, tap: '^21.8.0' },
    }),
    'README.md': `# parley-theme-${name}

A Parley theme, made with \`parley new theme ${name}\`: a layout, a header
and a footer; every page comes from the plugins. Use it with \`theme: ./${name}\` in the config
(or its package name once installed), check it with \`npx parley check-theme ${name}\`, and
test it with \`npm test\`. Parley's docs/themes.md has the rules; docs/tutorial-theme.md walks
through a complete theme.
`,
    'default.hbs': `{{!-- The layout of every page: head, header, the page, footer. --}}
<!doctype html>
<html lang="{{site.lang}}" data-theme="{{site.color_mode}}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{{#if page.title}}{{page.title}} · {{/if}}{{site.title}}</title>
  <link rel="stylesheet" href="{{asset "css/theme.css"}}">
  <link rel="stylesheet" href="{{custom_css}}">
</head>
<body>
  {{> header}}
  <main class="page" id="main">
    {{{body}}}
  </main>
  {{> footer}}
</body>
</html>
`,
    'partials/header.hbs': `{{!-- The top bar: the site name and the language switch. --}}
<header class="site-header">
  <a href="/">{{site.title}}</a>
  <nav aria-label="{{t "header.language"}}"><a href="?lang=en">English</a> <a href="?lang=zh-CN">中文</a></nav>
</header>
`,
    'partials/footer.hbs': `{{!-- A footer line. --}}
<footer class="site-footer"><p>{{t "footer.note"}}</p></footer>
`,
    'locales/en.json': json({
      'header.language': 'Language',
      'footer.note': 'Answers come from language models and can be wrong.',
      'custom.accent_color.title': 'Accent colour',
    }),
    'locales/zh-CN.json': json({
      'header.language': '语言',
      'footer.note': '回答由语言模型生成，可能有误。',
      'custom.accent_color.title': '强调色',
    }),
    'assets/css/theme.css': `/* The variables the plugins style themselves with; change them first. */
:root { --accent: var(--custom-accent-color, #2f6f4e); --bg: #fafaf7; --fg: #1d2521; --font: system-ui, sans-serif; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 16px/1.5 var(--font); }
a { color: var(--accent); }
.site-header, .site-footer { display: flex; justify-content: space-between; padding: 1rem; }
.page { max-width: 60rem; margin: 0 auto; padding: 1rem; }
`,
    [`test/theme.test.ts`]: `import path from 'node:path'
import t from 'tap'
import { checkTheme } from '@parley/core'
import { createTestGateway } from '@parley/core/testing'

const dir = path.resolve(import.meta.dirname, '..')

t.test('parley check-theme finds nothing to say', async t => {
  t.same(checkTheme(dir).problems, [])
})

t.test('a gateway starts with it and draws its layout', async t => {
  const gateway = await createTestGateway({ config: { theme: dir } })
  t.teardown(gateway.close)
  const page = await gateway.inject({ url: '/nowhere?lang=zh-CN', headers: { accept: 'text/html' } })
  t.equal(page.statusCode, 404)
  t.match(page.body, /class="site-header"/)
  t.match(page.body, /回答由语言模型生成/)
})
`,
  }
}
