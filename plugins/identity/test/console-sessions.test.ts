import t, { type Test } from 'tap'
import identity from '@parley/identity'
import { createTestGateway, missingService, type TestGateway } from '@parley/core/testing'
import type { Gateway } from '@parley/core'
import { twoInstances } from './instances.js'

// The admin console's 24 h token ends at sign-out, and a password change ends every session of
// the user (admin console and portal access tokens), on every instance.

const ADMIN = { username: 'admin', password: 'admin-password-0' }
const ADMIN_EMAIL = 'admin@parley.invalid'
const NEW_PASSWORD = 'a-fresh-passphrase-9'

interface Reply {
  statusCode: number
  headers: Record<string, string | string[] | number | undefined>
  json(): unknown
}

const deployments = [
  { name: 'sqlite, one instance', skip: false as string | false, two: false },
  { name: 'two instances on MariaDB + Redis', skip: missingService('mysql') || missingService('redis'), two: true },
]

for (const deployment of deployments) {
  /** Instance `a` and, for the shared deployment, a second instance `b` on the same database and Redis. */
  const boot = async (t: Test): Promise<{ a: TestGateway; b: TestGateway }> => {
    if (!deployment.two) {
      const a = await createTestGateway({ plugins: [identity], config: { admin: ADMIN } })
      t.teardown(a.close)
      return { a, b: a }
    }
    const { a, b } = await twoInstances(t, ADMIN)
    t.equal(b.kv.kind, 'redis')
    return { a, b }
  }

  t.test(
    `${deployment.name}: admin sign-out ends that console session, on every instance`,
    { skip: deployment.skip },
    async t => {
      const { a, b } = await boot(t)
      const first = await adminLogin(a)
      const second = await adminLogin(a)
      t.equal(
        (await adminCall(b, first.token)).statusCode,
        200,
        'the token works on the other instance (and is cached there)',
      )

      const out = await a.inject({
        method: 'POST',
        url: '/api/auth/admin/logout',
        headers: { authorization: `Bearer ${first.token}` },
      })
      t.equal(out.statusCode, 204)
      t.match(String(out.headers['set-cookie']), /parley_admin=;.*Max-Age=0/, 'the cookie is cleared')
      for (const [label, gateway] of [
        ['this instance', a],
        ['the other instance', b],
      ] as const) {
        const refused = await adminCall(gateway, first.token)
        t.equal(refused.statusCode, 401, `${label}: the signed-out token is refused`)
        t.match(refused.json(), { error: { type: 'invalid_token' } })
      }
      t.equal((await adminCall(b, second.token)).statusCode, 200, 'another console session of the same admin goes on')

      // The console itself signs out with its cookie and the console header.
      const cookie = `parley_admin=${second.cookie}`
      t.equal(
        (await adminCall(a, undefined, { cookie, 'x-parley-console': '1' })).statusCode,
        200,
        'control: the cookie works',
      )
      t.equal(
        (
          await b.inject({
            method: 'POST',
            url: '/api/auth/admin/logout',
            headers: { cookie, 'x-parley-console': '1' },
          })
        ).statusCode,
        204,
      )
      t.equal(
        (await adminCall(a, undefined, { cookie, 'x-parley-console': '1' })).statusCode,
        401,
        'the cookie is dead after its sign-out',
      )
      t.equal((await adminCall(a, second.token)).statusCode, 401, 'and so is the same token sent as Bearer')
      t.equal(
        (await b.inject({ method: 'POST', url: '/api/auth/admin/logout' })).statusCode,
        204,
        'signing out with no session is harmless',
      )
    },
  )

  t.test(
    `${deployment.name}: a password change ends every session of the user, on every instance`,
    { skip: deployment.skip },
    async t => {
      const { a, b } = await boot(t)
      const console = await adminLogin(a)
      const portal = await portalLogin(a, ADMIN.password)
      const other = await portalLogin(b, ADMIN.password)
      t.equal(
        (await adminCall(b, console.token)).statusCode,
        200,
        'control: the console token works on B (and B caches the user)',
      )
      t.equal((await me(b, other.access_token)).statusCode, 200, 'control: the other portal session works on B')

      const changed = await a.inject({
        method: 'POST',
        url: '/api/users/me/password',
        headers: { authorization: `Bearer ${portal.access_token}` },
        payload: { current_password: ADMIN.password, password: NEW_PASSWORD, password_confirm: NEW_PASSWORD },
      })
      t.equal(changed.statusCode, 200)
      const fresh = changed.json() as { access_token: string }

      for (const [label, gateway] of [
        ['A', a],
        ['B', b],
      ] as const) {
        // Well inside the 10 s user cache: only the epoch (and its invalidation) explains a refusal.
        t.equal(await settle(() => adminCall(gateway, console.token)), 401, `${label}: the console token is refused`)
        t.equal(
          await settle(() => me(gateway, portal.access_token)),
          401,
          `${label}: the portal token used for the change is refused`,
        )
        t.equal(await settle(() => me(gateway, other.access_token)), 401, `${label}: another portal session is refused`)
        t.equal(
          (await me(gateway, fresh.access_token)).statusCode,
          200,
          `${label}: the pair answered by the change works at once`,
        )
      }
      t.equal(
        (await a.inject({ method: 'POST', url: '/api/auth/refresh', payload: { refresh_token: other.refresh_token } }))
          .statusCode,
        401,
        'the old refresh tokens are revoked',
      )
      const again = await adminLogin(b, NEW_PASSWORD)
      t.equal(
        (await adminCall(a, again.token)).statusCode,
        200,
        'a console sign-in with the new password works on every instance',
      )
    },
  )
}

async function adminLogin(gateway: Gateway, password = ADMIN.password): Promise<{ token: string; cookie: string }> {
  const response = await gateway.inject({
    method: 'POST',
    url: '/api/auth/admin/login',
    payload: { username: ADMIN.username, password },
  })
  if (response.statusCode !== 200) throw new Error(`admin login failed: ${response.body}`)
  const cookie = /parley_admin=([^;]+)/.exec(String(response.headers['set-cookie']))?.[1] ?? ''
  return { token: (response.json() as { access_token: string }).access_token, cookie }
}

async function portalLogin(
  gateway: Gateway,
  password: string,
): Promise<{ access_token: string; refresh_token: string }> {
  const response = await gateway.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { email: ADMIN_EMAIL, password },
  })
  if (response.statusCode !== 200) throw new Error(`login failed: ${response.body}`)
  return response.json() as { access_token: string; refresh_token: string }
}

function adminCall(gateway: Gateway, token: string | undefined, headers: Record<string, string> = {}): Promise<Reply> {
  return gateway.inject({
    url: '/api/admin/users',
    headers: token ? { authorization: `Bearer ${token}`, ...headers } : headers,
  })
}

function me(gateway: Gateway, token: string): Promise<Reply> {
  return gateway.inject({ url: '/api/users/me', headers: { authorization: `Bearer ${token}` } })
}

/** The status once it stops being 200, polling for up to 2 s (the invalidation travels through Redis). */
async function settle(call: () => Promise<Reply>): Promise<number> {
  const deadline = Date.now() + 2000
  for (;;) {
    const { statusCode } = await call()
    if (statusCode !== 200 || Date.now() > deadline) return statusCode
    await new Promise(resolve => setTimeout(resolve, 25))
  }
}
