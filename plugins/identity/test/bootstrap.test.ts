import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import pino from 'pino'
import t, { type Test } from 'tap'
import identity from '@parley/identity'
import {
  createTempMysqlDatabase,
  createTestGateway,
  missingService,
  pendingSchemaChanges,
  testServices,
  type TestGateway,
  type TestGatewayOptions,
} from '@parley/core/testing'

const dialects = [
  { name: 'sqlite', skip: false as string | false, mysqlUrl: undefined as string | undefined },
  { name: 'mysql', skip: missingService('mysql'), mysqlUrl: testServices.mysqlUrl },
]

interface Started {
  readonly gateway: TestGateway
  /** Everything the start wrote to stderr. */
  readonly stderr: string
  /** Every structured log line, parsed. */
  readonly lines: Array<Record<string, unknown>>
  /** The raw log text, to scan for secrets. */
  readonly log: () => string
}

/** Starts a gateway with a capturing logger, with stderr captured (and silenced) during start-up. */
async function start(t: Test, options: TestGatewayOptions): Promise<Started> {
  const raw: string[] = []
  const sink = new Writable({
    write(chunk, _encoding, done) {
      raw.push(String(chunk))
      done()
    },
  })
  const stderr = t.capture(process.stderr, 'write', () => true)
  let gateway: TestGateway
  try {
    gateway = await createTestGateway({ plugins: [identity], logger: pino({ level: 'trace' }, sink), ...options })
  } finally {
    stderr.restore()
  }
  t.teardown(gateway.close)
  const written = stderr
    .args()
    .map(args => String(args[0]))
    .join('')
  return {
    gateway,
    stderr: written,
    lines: raw
      .join('')
      .split('\n')
      .filter(Boolean)
      .map(line => JSON.parse(line)),
    log: () => raw.join(''),
  }
}

/** Runs a registered CLI command with stdout captured, as `parley <name> ...args` would. */
async function runCommand(
  t: Test,
  gateway: TestGateway,
  name: string,
  args: string[],
): Promise<{ code: number; out: string }> {
  const command = gateway.registries.commands.get(name)
  if (!command) throw new Error(`no command ${name}`)
  const stdout = t.capture(process.stdout, 'write', () => true)
  let code: number
  try {
    code = await command.run(args, gateway)
  } finally {
    stdout.restore()
  }
  return {
    code,
    out: stdout
      .args()
      .map(a => String(a[0]))
      .join(''),
  }
}

async function adminLogin(gateway: TestGateway, username: string, password: string) {
  return gateway.inject({ method: 'POST', url: '/api/auth/admin/login', payload: { username, password } })
}

async function users(
  gateway: TestGateway,
  token: string,
): Promise<Array<{ id: number; username: string; email: string; role: string; group: string; status: string }>> {
  const response = await gateway.inject({
    method: 'GET',
    url: '/api/admin/users',
    headers: { authorization: `Bearer ${token}` },
  })
  return response.json().items
}

/** Database settings two gateways started one after the other can share. */
async function sharedDatabase(t: Test, mysqlUrl: string | undefined): Promise<Record<string, unknown>> {
  if (mysqlUrl) {
    const temp = await createTempMysqlDatabase(mysqlUrl)
    t.teardown(temp.drop)
    return { database: { url: temp.url } }
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-identity-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return { database: { path: path.join(dir, 'shared.db') } }
}

for (const { name: dialect, skip, mysqlUrl } of dialects) {
  t.test(`${dialect}: migrations match the entities exactly`, { skip }, async t => {
    const gateway = await createTestGateway({
      plugins: [identity],
      mysqlUrl,
      config: { admin: { password: 'root-password-for-tests' } },
    })
    t.teardown(gateway.close)
    t.same(await gateway.db.pending(), [], 'all applied')
    t.same(await pendingSchemaChanges(gateway), [], 'nothing left to diff against the entities')
  })

  t.test(`${dialect}: ADMIN_USERNAME and ADMIN_PASSWORD create the first root on first start`, { skip }, async t => {
    const password = 'boss-password-from-env'
    const { gateway, stderr, lines, log } = await start(t, {
      mysqlUrl,
      env: { ADMIN_USERNAME: 'Boss', ADMIN_PASSWORD: password },
    })
    t.equal(stderr, '', 'nothing printed: the operator chose the password')
    t.match(
      lines.find(line => line.msg === 'created the first admin from ADMIN_USERNAME/ADMIN_PASSWORD'),
      { level: 40, plugin: 'identity', username: 'Boss', user_id: 1 },
    )
    t.notOk(log().includes(password), 'the password is not logged')

    const login = await adminLogin(gateway, 'boss', password)
    t.equal(login.statusCode, 200, 'the admin signs in (username in any case)')
    t.match(login.json(), { token_type: 'bearer', expires_in: 86_400 })
    const accounts = await users(gateway, login.json().access_token)
    t.equal(accounts.length, 1, 'one account')
    t.match(accounts[0], {
      id: 1,
      email: 'boss@parley.invalid',
      username: 'Boss',
      role: 'root',
      group: 'default',
      status: 'active',
      created_at: /^\d{4}-/,
      last_login_at: /^\d{4}-/,
    })
    t.equal((await adminLogin(gateway, 'boss', 'not-the-password')).statusCode, 401)
  })

  t.test(`${dialect}: config admin.* works the same way`, { skip }, async t => {
    const { gateway, stderr } = await start(t, {
      mysqlUrl,
      config: { admin: { username: 'chief', password: 'chief-password-1' } },
    })
    t.equal(stderr, '')
    const login = await adminLogin(gateway, 'chief', 'chief-password-1')
    t.equal(login.statusCode, 200)
    t.same(
      (await users(gateway, login.json().access_token)).map(u => [u.username, u.role]),
      [['chief', 'root']],
    )
  })

  t.test(
    `${dialect}: without a password one is generated and printed once on stderr, never logged`,
    { skip },
    async t => {
      const { gateway, stderr, lines, log } = await start(t, { mysqlUrl })
      const match = /username: (\S+)\n\s*password: (\S+)\n/.exec(stderr)
      t.ok(match, 'stderr shows the credentials')
      const [, username, password] = match ?? []
      t.equal(username, 'admin', 'the username defaults to admin')
      t.match(password, /^[A-Za-z0-9_-]{24}$/, '144 random bits, base64url')
      t.equal(stderr.split(password as string).length - 1, 1, 'printed exactly once')
      t.match(stderr, /shown once/)

      t.ok(
        lines.some(line => line.msg === 'created the first admin with a generated password (printed once on stderr)'),
        'the log says an admin was created',
      )
      t.notOk(log().includes(password as string), 'the generated password is in no log line')
      t.notOk(log().includes('$argon2'), 'nor is its hash')

      const login = await adminLogin(gateway, 'admin', password as string)
      t.equal(login.statusCode, 200, 'the printed password works')
      t.same(
        (await users(gateway, login.json().access_token)).map(u => [u.username, u.role]),
        [['admin', 'root']],
      )
    },
  )

  t.test(
    `${dialect}: a second start creates no other admin, changes no password and prints nothing`,
    { skip },
    async t => {
      const shared = await sharedDatabase(t, mysqlUrl)
      const first = await start(t, { config: shared })
      const password = /password: (\S+)/.exec(first.stderr)?.[1] as string
      t.ok(password)
      await first.gateway.close()

      const second = await start(t, {
        config: { ...shared, admin: { username: 'another', password: 'another-password' } },
      })
      t.equal(second.stderr, '', 'nothing printed')
      t.notOk(
        second.lines.some(line => String(line.msg).startsWith('created the first admin')),
        'nothing created',
      )
      t.equal(
        (await adminLogin(second.gateway, 'another', 'another-password')).statusCode,
        401,
        'ADMIN_* only matter on the first start',
      )
      const login = await adminLogin(second.gateway, 'admin', password)
      t.equal(login.statusCode, 200, 'the first password still works')
      t.same(
        (await users(second.gateway, login.json().access_token)).map(u => u.username),
        ['admin'],
        'still one account',
      )
    },
  )

  t.test(`${dialect}: parley create-admin creates a root account`, { skip }, async t => {
    const { gateway } = await start(t, {
      mysqlUrl,
      config: { admin: { username: 'admin', password: 'root-password-for-tests' } },
    })
    const created = await runCommand(t, gateway, 'create-admin', ['--username', 'ops', '--password', 'ops-password-1'])
    t.equal(created.code, 0)
    t.match(created.out, /Created root account ops \(id 2\)/)
    t.notOk(created.out.includes('ops-password-1'), 'a chosen password is not echoed')
    const login = await adminLogin(gateway, 'ops', 'ops-password-1')
    t.equal(login.statusCode, 200, 'the new root signs in to the console')
    const token = login.json().access_token
    t.match(
      (await users(gateway, token)).find(u => u.username === 'ops'),
      { role: 'root', email: 'ops@parley.invalid', status: 'active' },
    )

    const duplicate = await runCommand(t, gateway, 'create-admin', [
      '--username',
      'OPS',
      '--password',
      'other-password-1',
    ])
    t.equal(duplicate.code, 1, 'a taken username (any case) exits 1')
    t.match(duplicate.out, /already taken/)
    t.equal((await adminLogin(gateway, 'ops', 'ops-password-1')).statusCode, 200, 'the existing account is untouched')

    const generated = await runCommand(t, gateway, 'create-admin', ['--username=sre', '--email', ' SRE@Example.com '])
    t.equal(generated.code, 0)
    const password = /Password \(shown once\): (\S+)/.exec(generated.out)?.[1]
    t.ok(password, 'without --password one is generated and shown')
    t.equal((await adminLogin(gateway, 'sre', password as string)).statusCode, 200)
    t.match(
      (await users(gateway, token)).find(u => u.username === 'sre'),
      { email: 'sre@example.com', role: 'root' },
    )

    const takenEmail = await runCommand(t, gateway, 'create-admin', [
      '--username',
      'sre2',
      '--email',
      'sre@example.com',
      '--password',
      'sre2-password',
    ])
    t.equal(takenEmail.code, 1, 'a taken email exits 1 with the reason, no stack trace')
    t.match(takenEmail.out, /already registered/)
    const badEmail = await runCommand(t, gateway, 'create-admin', [
      '--username',
      'sre3',
      '--email',
      'not-an-email',
      '--password',
      'sre3-password',
    ])
    t.equal(badEmail.code, 1)
    t.match(badEmail.out, /not a valid email/)
    const weak = await runCommand(t, gateway, 'create-admin', ['--username', 'sre4', '--password', 'short'])
    t.equal(weak.code, 1)
    t.match(weak.out, /at least 8 characters/)
    t.same(
      (await users(gateway, token)).map(u => u.username),
      ['admin', 'ops', 'sre'],
      'no failed attempt created anyone',
    )

    const saved = process.env.ADMIN_USERNAME
    delete process.env.ADMIN_USERNAME
    t.teardown(() => {
      if (saved !== undefined) process.env.ADMIN_USERNAME = saved
    })
    const missing = await runCommand(t, gateway, 'create-admin', ['--password', 'whatever-password'])
    t.equal(missing.code, 2, 'no username is a usage error')
    t.match(missing.out, /needs --username/)
  })
}
