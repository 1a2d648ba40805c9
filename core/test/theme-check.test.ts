import { cpSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { PassThrough } from 'node:stream'
import t from 'tap'
import { checkTheme, THEME_RULES, type ThemeProblem } from '@parley/core'
import { runCli } from '../src/cli/run.js'

const repo = path.resolve(import.meta.dirname, '../..')
const fixtures = path.join(import.meta.dirname, 'fixtures/themes')

function cli(args: string[]) {
  const out = new PassThrough()
  const err = new PassThrough()
  let stdout = ''
  let stderr = ''
  out.on('data', chunk => (stdout += chunk))
  err.on('data', chunk => (stderr += chunk))
  return runCli(args, { out, err, env: {} }).then(code => ({ code, stdout, stderr }))
}

const brief = (problems: readonly ThemeProblem[]) =>
  problems.map(p => `${p.code} ${p.level} ${p.file}${p.line === undefined ? '' : `:${p.line}`}`)

// `npm test` runs the checker over every theme the repository ships, as CI runs gscan.
t.test('every theme in themes/ passes check-theme', async t => {
  const themes = readdirSync(path.join(repo, 'themes')).filter(name =>
    statSync(path.join(repo, 'themes', name)).isDirectory(),
  )
  t.ok(themes.includes('default'))
  for (const name of themes) {
    const result = checkTheme(path.join(repo, 'themes', name))
    t.same(brief(result.problems), [], `themes/${name} has no errors or warnings`)
  }
  const run = await cli(['check-theme', path.join(repo, 'themes/default')])
  t.equal(run.code, 0)
  t.match(run.stdout, /@parley\/theme-default: 0 error\(s\), 0 warning\(s\)/)
})

t.test('a broken theme gets a stable code for each problem', async t => {
  const result = checkTheme(path.join(fixtures, 'broken'))
  t.same(brief(result.problems), [
    'PT003 error default.hbs',
    'PT009 warning default.hbs:2',
    'PT010 error default.hbs:2',
    'PT008 warning locales/zh-CN.json',
    'PT002 error package.json',
    'PT006 error package.json',
    'PT007 error package.json',
    'PT004 error pages/syntax.hbs:5',
    'PT005 error pages/unsafe.hbs:2',
    'PT008 warning pages/unsafe.hbs:3',
    'PT008 warning pages/unsafe.hbs:3',
    'PT008 warning pages/unsafe.hbs:3',
    'PT005 error pages/unsafe.hbs:4',
  ])
  const message = (code: string) => result.problems.filter(p => p.code === code).map(p => p.message)
  t.match(message('PT006'), [/brand_color: "default" must be a colour written #rrggbb/])
  t.match(message('PT007'), [/config\.custom\.never_used is declared but never used/])
  t.match(message('PT005'), [/\{\{\{user\.name\}\}\} prints without escaping/, /page\.title.*prints without escaping/])
  t.match(message('PT004'), [/does not compile: Expecting .*got 'EOF'/])
  t.match(message('PT010'), [/"img\/logo\.png" is not in assets\//])
  t.equal(result.errors, 8)
  t.equal(result.warnings, 5)
  for (const p of result.problems) t.equal(p.level, THEME_RULES[p.code].level, `${p.code} keeps its level`)
})

t.test('PT001: no package.json, or no folder at all', async t => {
  t.same(brief(checkTheme(path.join(fixtures, 'no-manifest')).problems), ['PT001 error package.json'])
  t.same(brief(checkTheme(path.join(fixtures, 'does-not-exist')).problems), ['PT001 error .'])
})

t.test('PT002: engines.parley must include this core', async t => {
  const result = checkTheme(path.join(fixtures, 'override'), { coreVersion: '0.0.1' })
  t.same(brief(result.problems), ['PT002 error package.json'])
  t.match(result.problems[0]?.message, /">=0\.1\.0" does not include this Parley \(0\.0\.1\)/)
})

t.test("PT009: a partial block carries its fallback, so another plugin's partial may be absent", async t => {
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-theme-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  cpSync(path.join(repo, 'themes/default'), dir, { recursive: true })
  writeFileSync(
    path.join(dir, 'pages/help.hbs'),
    '{{!< default}}\n{{!-- Help. --}}\n{{#> admin/nav}}{{/admin/nav}}\n{{> portal/nav}}\n',
  )
  t.same(brief(checkTheme(dir).problems), ['PT009 warning pages/help.hbs:4'], 'only the plain partial is missing')
})

t.test('parley check-theme: exit codes and --json', async t => {
  const broken = await cli(['check-theme', path.join(fixtures, 'broken')])
  t.equal(broken.code, 1)
  t.match(broken.stdout, /pages\/unsafe\.hbs:2 {2}PT005 error/)
  t.match(broken.stdout, /broken: 8 error\(s\), 5 warning\(s\)/)
  const json = await cli(['check-theme', '--json', path.join(fixtures, 'override'), path.join(fixtures, 'no-manifest')])
  t.equal(json.code, 1, 'one theme with an error fails the run')
  const report = JSON.parse(json.stdout) as {
    ok: boolean
    themes: Array<{ name: string | null; errors: number; problems: ThemeProblem[] }>
  }
  t.equal(report.ok, false)
  t.same(
    report.themes.map(theme => [theme.name, theme.errors]),
    [
      ['parley-theme-override-fixture', 0],
      [null, 1],
    ],
  )
  t.equal(report.themes[1]?.problems[0]?.code, 'PT001')
  const usage = await cli(['check-theme'])
  t.equal(usage.code, 2)
  t.match(usage.stderr, /Usage: parley check-theme/)
  const option = await cli(['check-theme', '--fatal', 'x'])
  t.equal(option.code, 2)
  t.match(option.stderr, /unknown option --fatal/)
})
