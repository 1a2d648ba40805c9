import t from 'tap'
import { missingService, ROOT, testServices } from '@parley/core/testing'
import { createClient, widgetGateway } from './helpers.js'

/** The admin API of widget clients on both dialects: create, list, change, delete, and every refusal. */

for (const dialect of [
  { name: 'sqlite', skip: false as string | false, mysqlUrl: undefined as string | undefined },
  { name: 'mysql', skip: missingService('mysql'), mysqlUrl: testServices.mysqlUrl },
]) {
  t.test(`${dialect.name}: widget clients through the admin API`, { skip: dialect.skip }, async t => {
    const { gateway } = await widgetGateway(t, dialect.mysqlUrl ? { mysqlUrl: dialect.mysqlUrl } : {})
    const admin = { authorization: `Bearer ${ROOT}` }
    const call = (
      method: 'GET' | 'POST' | 'PUT' | 'DELETE',
      url: string,
      payload?: object,
      headers: Record<string, string> = admin,
    ) => gateway.inject({ method, url, headers, ...(payload ? { payload } : {}) })

    const created = await createClient(gateway, {
      allowed_ips: ['203.0.113.7', '10.0.0.0/8', '2001:DB8::/32', '10.0.0.0/8'],
      allowed_origins: ['https://shop.example', 'http://localhost:3000/'],
      greeting: '你好',
      theme_color: '#0F766E',
      rpm: 5,
      transcripts: true,
    })
    t.match(created, {
      client_id: /^wc_[0-9a-f]{20}$/,
      secret: /^wsk_[A-Za-z0-9_-]{43}$/,
      allowed_ips: ['203.0.113.7', '10.0.0.0/8', '2001:db8::/32'],
      allowed_origins: ['https://shop.example', 'http://localhost:3000'],
      model: 'gpt-4o-mini',
      greeting: '你好',
      theme_color: '#0f766e',
      rpm: 5,
      transcripts: true,
      enabled: true,
      previous_secret_expires_at: null,
    })
    const stored = await gateway.db.em().getConnection().execute('select secret_sealed from widget_clients')
    t.notMatch(JSON.stringify(stored), created.secret, 'the secret is sealed at rest')

    const list = await call('GET', '/api/admin/widget-clients')
    t.match(list.json(), { items: [{ id: created.id, name: 'Shop' }], total: 1, page: 1, page_size: 20 })
    t.notMatch(list.body, /wsk_/, 'no secret in a list')
    t.notMatch((await call('GET', `/api/admin/widget-clients/${created.id}`)).body, /wsk_/)

    const before = (await call('GET', `/api/admin/widget-clients/${created.id}`)).json()
    for (const [payload, field] of [
      [{ allowed_ips: ['10.0.0.0/33'] }, 'allowed_ips'],
      [{ allowed_ips: ['shop.example'] }, 'allowed_ips'],
      [{ allowed_origins: ['https://shop.example/path'] }, 'allowed_origins'],
      [{ allowed_origins: ['javascript:alert(1)'] }, 'allowed_origins'],
      [{ model: 'no-such-model' }, 'no-such-model'],
      [{ theme_color: 'red' }, 'theme_color'],
      [{ colour: '#fff' }, 'colour'],
    ] as const) {
      const refused = await call('PUT', `/api/admin/widget-clients/${created.id}`, payload)
      t.equal(refused.statusCode, 400, JSON.stringify(payload))
      t.match(refused.json().error, { type: 'invalid_request' })
      t.match(refused.body, field)
    }
    t.same(
      (await call('GET', `/api/admin/widget-clients/${created.id}`)).json(),
      before,
      'refused changes change nothing',
    )

    const renamed = await call('PUT', `/api/admin/widget-clients/${created.id}`, { name: 'Shop 2', rpm: 0 })
    t.match(renamed.json(), { name: 'Shop 2', rpm: 0, transcripts: true })

    for (const [headers, status] of [
      [{}, 401],
      [{ authorization: 'Bearer user-default' }, 401],
    ] as const) {
      for (const [method, url] of [
        ['GET', '/api/admin/widget-clients'],
        ['POST', '/api/admin/widget-clients'],
        ['PUT', `/api/admin/widget-clients/${created.id}`],
        ['POST', `/api/admin/widget-clients/${created.id}/rotate-secret`],
        ['DELETE', `/api/admin/widget-clients/${created.id}`],
      ] as const) {
        const response = await call(method, url, { name: 'x' }, headers as Record<string, string>)
        t.ok(
          response.statusCode === status || response.statusCode === 403,
          `${method} ${url} without admin: ${response.statusCode}`,
        )
      }
    }
    t.equal((await call('GET', `/api/admin/widget-clients/${created.id}`)).json().name, 'Shop 2', 'nothing changed')

    t.equal((await call('GET', '/api/admin/widget-clients/999999')).statusCode, 404)
    t.equal((await call('DELETE', '/api/admin/widget-clients/999999')).statusCode, 404)
    t.equal((await call('DELETE', `/api/admin/widget-clients/${created.id}`)).statusCode, 204)
    t.equal((await call('GET', `/api/admin/widget-clients/${created.id}`)).statusCode, 404)
  })
}
