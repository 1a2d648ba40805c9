import t, { type Test } from 'tap'
import identity from '@parley/identity'
import type { Gateway } from '@parley/core'
import { createTestGateway, missingService, testServices, type TestGateway } from '@parley/core/testing'

// Confusable usernames: a name is unique in its NFKC, case-folded form (so ＡＤＭＩＮ is admin),
// and invisible or direction-changing characters are refused.

const ADMIN = { username: 'admin', password: 'admin-password-0' }
const PASSWORD = 'correct-horse-battery'

const dialects = [
  { name: 'sqlite', skip: false as string | false, mysqlUrl: undefined as string | undefined },
  { name: 'mysql', skip: missingService('mysql'), mysqlUrl: testServices.mysqlUrl },
]

interface Reply {
  statusCode: number
  json(): unknown
}

let serial = 0
function register(gateway: Gateway, username: string): Promise<Reply> {
  const n = ++serial
  return gateway.inject({
    method: 'POST',
    url: '/api/auth/register',
    remoteAddress: `192.0.2.${n % 250}`,
    payload: { email: `person${n}@example.com`, username, password: PASSWORD, password_confirm: PASSWORD },
  })
}

function refused(t: Test, response: Reply, status: number, type: string, label: string): void {
  t.equal(response.statusCode, status, `${label}: ${status}`)
  t.match(response.json(), { error: { type } }, `${label}: ${type}`)
}

for (const dialect of dialects) {
  t.test(
    `${dialect.name}: usernames are unique once normalised, and never invisible`,
    { skip: dialect.skip },
    async t => {
      const gateway = await createTestGateway({
        plugins: [identity],
        mysqlUrl: dialect.mysqlUrl,
        config: { admin: ADMIN },
      })
      t.teardown(gateway.close)

      refused(t, await register(gateway, 'Admin'), 409, 'username_taken', 'Admin (control)')
      refused(t, await register(gateway, 'ＡＤＭＩＮ'), 409, 'username_taken', 'fullwidth ＡＤＭＩＮ')
      refused(t, await register(gateway, 'ａｄｍｉｎ'), 409, 'username_taken', 'fullwidth lower-case ａｄｍｉｎ')
      refused(t, await register(gateway, 'ad\u202Emin'), 400, 'invalid_username', 'a right-to-left override inside')
      refused(t, await register(gateway, '\u202Enimda'), 400, 'invalid_username', 'a right-to-left override in front')
      refused(t, await register(gateway, 'ad\u200Bmin'), 400, 'invalid_username', 'a zero-width space')
      refused(t, await register(gateway, 'ad\u2066min\u2069'), 400, 'invalid_username', 'bidi isolates')
      refused(t, await register(gateway, 'ad\u00ADmin'), 400, 'invalid_username', 'a soft hyphen (format character)')
      refused(t, await register(gateway, 'ad\u0007min'), 400, 'invalid_username', 'a control character')
      refused(t, await register(gateway, 'ad\u2028min'), 400, 'invalid_username', 'a line separator')

      const bob = await register(gateway, 'Ｂｏｂ')
      t.equal(bob.statusCode, 201, 'a fullwidth name is accepted')
      t.match(bob.json(), { user: { username: 'Bob' } }, 'and stored in its plain form')
      refused(t, await register(gateway, 'bob'), 409, 'username_taken', 'bob after Ｂｏｂ')
      t.equal((await register(gateway, 'Straße')).statusCode, 201, 'Straße')
      refused(t, await register(gateway, 'STRASSE'), 409, 'username_taken', 'STRASSE folds to the same name')
      t.equal((await register(gateway, '李雷')).statusCode, 201, 'a Chinese name of two characters')
      t.equal((await register(gateway, 'Zoë')).statusCode, 201, 'a name with a diacritic')
      refused(
        t,
        await register(gateway, 'Zoe\u0308'),
        409,
        'username_taken',
        'the same name with a combining diaeresis',
      )

      const login = await gateway.inject({
        method: 'POST',
        url: '/api/auth/admin/login',
        payload: { username: 'ＡＤＭＩＮ', password: ADMIN.password },
      })
      t.equal(login.statusCode, 200, 'the admin console finds the admin by the normalised name too')
    },
  )

  t.test(
    `${dialect.name}: keys stored before normalisation are brought up to date at start`,
    { skip: dialect.skip },
    async t => {
      const first = await createTestGateway({
        plugins: [identity],
        mysqlUrl: dialect.mysqlUrl,
        config: { admin: ADMIN },
      })
      const connection = first.db.orm.em.getConnection()
      // Rows as the previous release wrote them: the key only trimmed and lower-cased.
      const legacy = async (email: string, username: string) =>
        connection.execute(
          'insert into `identity_users` (`email`, `username`, `username_key`, `password_hash`, `role`, `group_name`, `status`, `created_at`, `updated_at`, `session_epoch`) values (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)',
          [
            email,
            username,
            username.trim().toLowerCase(),
            '$argon2id$v=19$m=19456,t=2,p=1$x$y',
            'user',
            'default',
            'active',
            new Date(),
            new Date(),
          ],
        )
      await legacy('wide@example.com', 'Ｓｔａｒ')
      await legacy('clash@example.com', 'ＡＤＭＩＮ')
      t.equal(
        (await register(first, 'star')).statusCode,
        201,
        'control: before the fix-up, star slips past the legacy Ｓｔａｒ',
      )

      const others: TestGateway[] = []
      t.teardown(async () => {
        for (const other of others) await other.close()
        await first.close()
      })
      const second = await createTestGateway({ plugins: [identity], sharedWith: first, config: { admin: ADMIN } })
      others.push(second)
      const keys = (await connection.execute(
        'select `email`, `username_key` from `identity_users` where `email` in (?, ?) order by `email`',
        ['clash@example.com', 'wide@example.com'],
      )) as Array<{ email: string; username_key: string }>
      t.same(
        keys.map(row => [row.email, row.username_key]),
        [
          ['clash@example.com', 'ａｄｍｉｎ'],
          ['wide@example.com', 'ｓｔａｒ'],
        ],
        'a key that would clash with another account is left alone (and logged); so is one whose plain form is taken',
      )
      t.equal((await register(second, 'Ｎｏｖａ')).statusCode, 201)
      await legacy('nova2@example.com', 'ＮＯＶＡ２')
      const third = await createTestGateway({ plugins: [identity], sharedWith: first, config: { admin: ADMIN } })
      others.push(third)
      const [row] = (await connection.execute('select `username_key` from `identity_users` where `email` = ?', [
        'nova2@example.com',
      ])) as Array<{ username_key: string }>
      t.equal(row?.username_key, 'nova2', 'a legacy key without a clash is normalised at the next start')
      refused(t, await register(third, 'nova2'), 409, 'username_taken', 'and then guards its name')
    },
  )
}
