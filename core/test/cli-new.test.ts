/*
 * `parley new plugin|theme <name>`: the folder it writes passes its own test, run the way an
 * author runs it (node with the TypeScript loader, as tap does), so an author starts from green.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { PassThrough } from 'node:stream'
import t, { type Test } from 'tap'
import { checkTheme } from '@parley/core'
import { runCli } from '../src/cli/run.js'

// Four runs of a scaffold's own test, each booting a gateway through the TypeScript loader: on a
// busy machine they took 50 s each, past the runner's 180 s for a file.
t.setTimeout(600_000)

const repo = path.resolve(import.meta.dirname, '../..')
const TS_LOADER = path.join(repo, 'node_modules/@tapjs/typescript/dist/esm/import.mjs')

function cli(args: string[]) {
  const out = new PassThrough()
  const err = new PassThrough()
  let stdout = ''
  let stderr = ''
  out.on('data', chunk => (stdout += chunk))
  err.on('data', chunk => (stderr += chunk))
  return runCli(args, { out, err, env: {} }).then(code => ({ code, stdout, stderr }))
}

/** A folder inside the repository (scratch/ is ignored), so @parley/core resolves as it would from node_modules. */
function workspace(t: Test): string {
  mkdirSync(path.join(repo, 'scratch'), { recursive: true })
  const dir = mkdtempSync(path.join(repo, 'scratch', 'new-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

function runTest(file: string) {
  return spawnSync(process.execPath, ['--conditions=parley-source', '--import', TS_LOADER, file], {
    cwd: repo,
    env: { PATH: process.env.PATH ?? '', TS_NODE_TRANSPILE_ONLY: '1' },
    encoding: 'utf8',
    timeout: 240_000,
  })
}

for (const kind of ['plugin', 'theme'] as const) {
  t.test(`parley new ${kind}: a folder whose test passes`, async t => {
    const dir = path.join(workspace(t), `my-${kind}`)
    const made = await cli(['new', kind, 'support-desk', dir])
    t.equal(made.code, 0, made.stderr)
    t.match(made.stdout, new RegExp(`Created the ${kind} support-desk`))
    const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'))
    t.equal(manifest.name, `parley-${kind}-support-desk`)
    if (kind === 'theme') t.same(checkTheme(dir).problems, [], 'check-theme has nothing to say')
    const testFile = readdirSync(path.join(dir, 'test'))[0] as string
    const run = runTest(path.join(dir, 'test', testFile))
    t.equal(run.status, 0, run.status === 0 ? 'its test passes' : `${run.stdout}\n${run.stderr}`)
    t.match(run.stdout, /# \{ total: \d+, pass: \d+ \}|^ok/m)
    t.notMatch(run.stdout, /not ok/)

    // The test can fail: break what it checks, and it does.
    const broken = kind === 'plugin' ? path.join(dir, 'src/index.ts') : path.join(dir, 'partials/header.hbs')
    const [from, to] = kind === 'plugin' ? ['greeting}, ${', 'greeting} ${'] : ['site-header', 'changed']
    writeFileSync(broken, readFileSync(broken, 'utf8').replace(from as string, to as string))
    const failing = runTest(path.join(dir, 'test', testFile))
    t.not(failing.status, 0, 'a broken scaffold fails its own test')
  })
}

t.test('parley new: bad input changes nothing', async t => {
  const dir = workspace(t)
  t.equal((await cli(['new'])).code, 2)
  t.equal((await cli(['new', 'widget', 'x-y'])).code, 2)
  const badName = await cli(['new', 'plugin', 'Support_Desk', path.join(dir, 'a')])
  t.equal(badName.code, 2)
  t.match(badName.stderr, /not a kebab-case name/)
  writeFileSync(path.join(dir, 'keep.txt'), 'mine')
  const taken = await cli(['new', 'theme', 'paper', dir])
  t.equal(taken.code, 1)
  t.match(taken.stderr, /exists and is not empty; nothing was written/)
  t.same(readdirSync(dir), ['keep.txt'])
})
