import t, { type Test } from 'tap'
import identity from '@parley/identity'
import { createTestGateway, missingService, testServices, type TestGateway } from '@parley/core/testing'
import { twoInstances } from './instances.js'

// POST /api/admin/users/:id/password: an admin sets a user's password; every session of that
// user ends; only root may set a root's; refusals change nothing. Both dialects.

const dialects = [
  { name: 'sqlite', skip: false as string | false, mysqlUrl: undefined as string | undefined },
  { name: 'mysql', skip: missingService('mysql'), mysqlUrl: testServices.mysqlUrl },
]

const ROOT = { username: 'admin', password: 'admin-password-0' }
const PASSWORD = 'correct-horse-battery'
const NEW_PASSWORD = 'lantern-purple-staple'

for (const dialect of dialects) {
  const boot = async (t: Test): Promise<TestGateway> => {
    const gateway = await createTestGateway({
      plugins: [identity],
      mysqlUrl: dialect.mysqlUrl,
      config: { admin: ROOT },
    })
    t.teardown(gateway.close)
    await gateway.settings.set('identity.register_per_hour', 0)
    return gateway
  }
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
  const adminLogin = async (gateway: TestGateway, username: string, password: string) =>
    (
      (
        await gateway.inject({ method: 'POST', url: '/api/auth/admin/login', payload: { username, password } })
      ).json() as { access_token: string }
    ).access_token
  const createUser = async (gateway: TestGateway, root: string, name: string, role = 'user') => {
    const response = await gateway.inject({
      method: 'POST',
      url: '/api/admin/users',
      headers: bearer(root),
      payload: { email: `${name}@example.com`, username: name, password: PASSWORD, role },
    })
    return (response.json() as { id: number }).id
  }
  const login = (gateway: TestGateway, name: string, password: string) =>
    gateway.inject({ method: 'POST', url: '/api/auth/login', payload: { email: `${name}@example.com`, password } })
  const setPassword = (gateway: TestGateway, token: string, id: number, password: string) =>
    gateway.inject({
      method: 'POST',
      url: `/api/admin/users/${id}/password`,
      headers: bearer(token),
      payload: { password },
    })

  t.test(`${dialect.name}: an admin sets a user's password`, { skip: dialect.skip }, async t => {
    const gateway = await boot(t)
    const root = await adminLogin(gateway, ROOT.username, ROOT.password)
    const userId = await createUser(gateway, root, 'ada')
    const session = (await login(gateway, 'ada', PASSWORD)).json() as { access_token: string; refresh_token: string }

    const weak = await setPassword(gateway, root, userId, 'ada-ada-ada')
    t.equal(weak.statusCode, 400, 'the password rules apply')
    t.match(weak.json(), { error: { type: 'personal_password' } })
    t.equal((await login(gateway, 'ada', PASSWORD)).statusCode, 200, 'and a refusal changes nothing')

    const done = await setPassword(gateway, root, userId, NEW_PASSWORD)
    t.equal(done.statusCode, 200)
    t.match(done.json(), { id: userId, username: 'ada' })
    t.notMatch(done.body, /hash|lantern/, 'no hash or password in the answer')
    t.equal((await login(gateway, 'ada', NEW_PASSWORD)).statusCode, 200, 'the new password signs in')
    t.equal((await login(gateway, 'ada', PASSWORD)).statusCode, 401, 'the old one does not')
    const me = await gateway.inject({ method: 'GET', url: '/api/users/me', headers: bearer(session.access_token) })
    t.equal(me.statusCode, 401, 'the session from before has ended')
    const refreshed = await gateway.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      payload: { refresh_token: session.refresh_token },
    })
    t.equal(refreshed.statusCode, 401, 'and its refresh token')

    t.equal((await setPassword(gateway, root, 999_999, NEW_PASSWORD)).statusCode, 404, 'an unknown user: 404')
  })

  t.test(`${dialect.name}: who may set whose password`, { skip: dialect.skip }, async t => {
    const gateway = await boot(t)
    const root = await adminLogin(gateway, ROOT.username, ROOT.password)
    const adminId = await createUser(gateway, root, 'boss', 'admin')
    const otherRootId = await createUser(gateway, root, 'chief', 'root')
    const userId = await createUser(gateway, root, 'cleo')
    const admin = await adminLogin(gateway, 'boss', PASSWORD)

    const onRoot = await setPassword(gateway, admin, otherRootId, NEW_PASSWORD)
    t.equal(onRoot.statusCode, 403, "an admin may not set a root's password")
    t.equal((await adminLogin(gateway, 'chief', PASSWORD)).length > 0, true, 'the root account is unchanged')
    t.equal((await setPassword(gateway, root, otherRootId, NEW_PASSWORD)).statusCode, 200, 'root may')
    t.equal((await setPassword(gateway, admin, userId, NEW_PASSWORD)).statusCode, 200, "an admin may set a user's")

    const user = ((await login(gateway, 'cleo', NEW_PASSWORD)).json() as { access_token: string }).access_token
    const byUser = await setPassword(gateway, user, adminId, 'another-lantern-word')
    t.equal(byUser.statusCode, 403, 'a user may not')
    const anonymous = await gateway.inject({
      method: 'POST',
      url: `/api/admin/users/${adminId}/password`,
      payload: { password: 'another-lantern-word' },
    })
    t.equal(anonymous.statusCode, 401, 'nor anyone signed out')
    t.equal((await adminLogin(gateway, 'boss', PASSWORD)).length > 0, true, "the admin's password is unchanged")
  })
}

t.test(
  "two instances on MariaDB + Redis: the user's session ends on the other instance at once",
  { skip: missingService('mysql') || missingService('redis') },
  async t => {
    const { a, b } = await twoInstances(t, ROOT)
    const root = (
      (await a.inject({ method: 'POST', url: '/api/auth/admin/login', payload: ROOT })).json() as {
        access_token: string
      }
    ).access_token
    const created = await a.inject({
      method: 'POST',
      url: '/api/admin/users',
      headers: { authorization: `Bearer ${root}` },
      payload: { email: 'dora@example.com', username: 'dora', password: PASSWORD },
    })
    const userId = (created.json() as { id: number }).id
    const session = (
      (
        await b.inject({
          method: 'POST',
          url: '/api/auth/login',
          payload: { email: 'dora@example.com', password: PASSWORD },
        })
      ).json() as { access_token: string }
    ).access_token
    const me = () => b.inject({ method: 'GET', url: '/api/users/me', headers: { authorization: `Bearer ${session}` } })
    t.equal((await me()).statusCode, 200, 'the session works on b (and its user is cached there)')
    const set = await a.inject({
      method: 'POST',
      url: `/api/admin/users/${userId}/password`,
      headers: { authorization: `Bearer ${root}` },
      payload: { password: NEW_PASSWORD },
    })
    t.equal(set.statusCode, 200)
    const started = Date.now()
    while ((await me()).statusCode === 200 && Date.now() - started < 2000) await new Promise(r => setTimeout(r, 20))
    t.equal((await me()).statusCode, 401, 'refused on b')
    t.ok(Date.now() - started < 2000, 'at once, not when the 10 s cache expires')
  },
)
