import t from 'tap'
import identity from '@parley/identity'
import type { Gateway } from '@parley/core'
import { createTestGateway } from '@parley/core/testing'

// Weak passwords: the most common ones (the zxcvbn-ts list), and passwords made of the
// account's own username or email, are refused wherever a password is set.

const ADMIN = { username: 'admin', password: 'admin-password-0' }
const STRONG = 'correct-horse-battery'

interface Reply {
  statusCode: number
  json(): unknown
}

function post(
  gateway: Gateway,
  url: string,
  payload: Record<string, unknown>,
  token?: string,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return gateway.inject({
    method: 'POST',
    url,
    payload,
    headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
  })
}

const account = { email: 'ada.lovelace@example.com', username: 'Countess' }
const refusals: Array<[string, string, string]> = [
  ['12345678', 'common_password', 'a top-10 password'],
  ['password', 'common_password', '"password"'],
  ['PassWord', 'common_password', 'a common password in other case'],
  ['qwertyuiop', 'common_password', 'a keyboard walk from the list'],
  ['iloveyou', 'common_password', 'another common one'],
  ['ada.lovelace@example.com', 'personal_password', 'the email itself'],
  ['ADA.LOVELACE@EXAMPLE.COM', 'personal_password', 'the email in capitals'],
  ['ada.lovelace-1815', 'personal_password', "the email's local part inside"],
  ['the-countess-of-numbers', 'personal_password', 'the username inside'],
  ['COUNTESS!!2024', 'personal_password', 'the username in capitals'],
]

t.test('register refuses common and personal passwords, each with its own type, in both languages', async t => {
  const gateway = await createTestGateway({ plugins: [identity], config: { admin: ADMIN } })
  t.teardown(gateway.close)
  for (const [password, type, label] of refusals) {
    const response = await post(gateway, '/api/auth/register', { ...account, password, password_confirm: password })
    t.equal(response.statusCode, 400, `${label}: 400`)
    t.match(response.json(), { error: { type, message: String } }, `${label}: ${type}`)
  }
  const zh = (
    await post(
      gateway,
      '/api/auth/register',
      { ...account, password: '12345678', password_confirm: '12345678' },
      undefined,
      { 'accept-language': 'zh-CN' },
    )
  ).json()
  t.match(zh, { error: { type: 'common_password', message: /最常见的密码/ } }, 'common_password in Chinese')
  const zhPersonal = (
    await post(
      gateway,
      '/api/auth/register',
      { ...account, password: 'countess-2024', password_confirm: 'countess-2024' },
      undefined,
      { 'accept-language': 'zh-CN' },
    )
  ).json()
  t.match(zhPersonal, { error: { type: 'personal_password', message: /用户名或邮箱/ } }, 'personal_password in Chinese')
  t.equal(
    (await post(gateway, '/api/auth/login', { email: account.email, password: '12345678' })).statusCode,
    401,
    'no account was created',
  )
  t.equal(
    (await post(gateway, '/api/auth/register', { ...account, password: STRONG, password_confirm: STRONG })).statusCode,
    201,
    'a good password is accepted',
  )
  const short = await post(gateway, '/api/auth/register', {
    email: 'al@example.com',
    username: 'Al',
    password: 'totally-alright-9',
    password_confirm: 'totally-alright-9',
  })
  t.equal(
    short.statusCode,
    201,
    'an identifier of two letters only forbids itself as the whole password, not as a part',
  )
})

t.test('password change and admin-created users apply the same rules', async t => {
  const gateway = await createTestGateway({ plugins: [identity], config: { admin: ADMIN } })
  t.teardown(gateway.close)
  const pair = (
    await post(gateway, '/api/auth/register', { ...account, password: STRONG, password_confirm: STRONG })
  ).json() as { access_token: string }
  for (const [password, type, label] of refusals) {
    const response = await post(
      gateway,
      '/api/users/me/password',
      { current_password: STRONG, password, password_confirm: password },
      pair.access_token,
    )
    t.equal(response.statusCode, 400, `change to ${label}: 400`)
    t.match(response.json(), { error: { type } }, `change to ${label}: ${type}`)
  }
  t.equal(
    (await post(gateway, '/api/auth/login', { email: account.email, password: STRONG })).statusCode,
    200,
    'the password is unchanged',
  )

  const admin = (await post(gateway, '/api/auth/admin/login', ADMIN)).json() as { access_token: string }
  const create = (password: string) =>
    post(
      gateway,
      '/api/admin/users',
      { email: 'bob.smith@example.com', username: 'Bobby', password },
      admin.access_token,
    )
  t.match((await create('password1')).json(), { error: { type: 'common_password' } }, 'admin create: common')
  t.match(
    (await create('bob.smith-rules')).json(),
    { error: { type: 'personal_password' } },
    'admin create: the email local part',
  )
  t.match(
    (await create('i-am-bobby-now')).json(),
    { error: { type: 'personal_password' } },
    'admin create: the username',
  )
  t.equal((await create(STRONG)).statusCode, 201, 'admin create: a good password')
})
