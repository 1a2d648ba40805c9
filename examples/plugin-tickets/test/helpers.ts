/**
 * Shared by the tickets tests: a gateway with the plugin, the real local storage driver (by
 * name, as an operator lists it) and three callers named by the `x-who` header.
 */
import type { Test } from 'tap'
import { createTestGateway, headerAuth, testServices, type TestGateway } from '@parley/core/testing'
import tickets from '../src/index.js'

export const ada = { 'x-who': 'ada' }
export const bob = { 'x-who': 'bob' }
export const admin = { 'x-who': 'admin' }
export const adaToken = { 'x-who': 'ada-token' }

export const callers = headerAuth({
  ada: { kind: 'user', userId: '2', role: 'user', group: 'default', name: 'ada' },
  bob: { kind: 'user', userId: '3', role: 'user', group: 'default', name: 'bob' },
  admin: { kind: 'user', userId: '1', role: 'admin', group: 'default', name: 'grace' },
  'ada-token': { kind: 'api_token', tokenId: '7', userId: '2', role: 'user', group: 'default', name: 'ada' },
})

export type Dialect = 'sqlite' | 'mysql'

export async function boot(
  t: Test,
  dialect: Dialect = 'sqlite',
  options: Record<string, unknown> = {},
  redisUrl?: string,
): Promise<TestGateway> {
  const gateway = await createTestGateway({
    plugins: [callers, { plugin: tickets, options }],
    config: { plugins: ['@parley/storage-local'] },
    ...(dialect === 'mysql' ? { mysqlUrl: testServices.mysqlUrl } : {}),
    ...(redisUrl ? { redisUrl } : {}),
  })
  t.teardown(gateway.close)
  return gateway
}

/** A small PNG (1×1, transparent) as an attachment. */
export const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=',
  'base64',
)
export const png = { filename: 'screen.png', content_type: 'image/png', data: PNG.toString('base64') }

/** Every row of a table, to prove a refusal changed nothing. */
export async function rows(gateway: TestGateway, table: string): Promise<unknown[]> {
  return (await gateway.db.em().getConnection().execute(`select * from ${table} order by id`)) as unknown[]
}

export async function snapshot(gateway: TestGateway) {
  return {
    tickets: await rows(gateway, 'tickets_tickets'),
    messages: await rows(gateway, 'tickets_messages'),
    attachments: await rows(gateway, 'tickets_attachments'),
  }
}
