import type { Test } from 'tap'
import { TOKENS, type ActiveStorage, type AnyPluginDefinition, type PluginEntry } from '@parley/core'
import { createTestGateway, fixtureAuth, ROOT, type TestGateway } from '@parley/core/testing'
import storageLocal from '@parley/storage-local'
import uploads from '@parley/uploads'

/** A PNG of `size` bytes: the signature, then filler (the storage checks size and type, not pixels). */
export function png(size = 68): Buffer {
  const bytes = Buffer.alloc(size, 7)
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(bytes)
  return bytes
}

export interface Booted {
  readonly gateway: TestGateway
  readonly storage: ActiveStorage
  readonly base: string
}

/** A listening gateway with the fixture auth, storage-local and uploads (plus `plugins`), closed at teardown. */
export async function boot(
  t: Test,
  options: {
    mysqlUrl?: string
    redisUrl?: string
    config?: Record<string, unknown>
    plugins?: ReadonlyArray<AnyPluginDefinition | PluginEntry>
    uploadOptions?: Record<string, unknown>
    /** The storage plugin; storage-local by default. */
    storage?: AnyPluginDefinition | PluginEntry
  } = {},
): Promise<Booted> {
  const gateway = await createTestGateway({
    plugins: [
      fixtureAuth,
      options.storage ?? storageLocal,
      { plugin: uploads, options: options.uploadOptions ?? {} },
      ...(options.plugins ?? []),
    ],
    listen: true,
    ...(options.mysqlUrl ? { mysqlUrl: options.mysqlUrl } : {}),
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
    ...(options.config ? { config: options.config } : {}),
  })
  t.teardown(gateway.close)
  return { gateway, storage: gateway.container.resolve<ActiveStorage>(TOKENS.storage), base: gateway.url as string }
}

/** `Authorization` for the fixture users: `ada` (user 2), `root` (user 1); `guest` sends `x-guest`. */
export function as(who: 'ada' | 'root' | 'guest' | 'anonymous'): Record<string, string> {
  if (who === 'ada') return { authorization: 'Bearer user-default' }
  if (who === 'root') return { authorization: `Bearer ${ROOT}` }
  if (who === 'guest') return { 'x-guest': 'default' }
  return {}
}

export interface Presigned {
  key: string
  url: string
  method: 'PUT' | 'POST'
  headers: Record<string, string>
  expires_at: string
}

/** `POST /api/uploads/presign`; answers status and body. */
export async function presign(
  gateway: TestGateway,
  who: Parameters<typeof as>[0],
  body: unknown,
): Promise<{ status: number; body: { items?: Presigned[]; error?: { type: string; message: string } } }> {
  const response = await gateway.inject({
    method: 'POST',
    url: '/api/uploads/presign',
    headers: as(who),
    payload: body as object,
  })
  return { status: response.statusCode, body: response.json() }
}

/** Sends `bytes` to a presigned URL as a browser would (relative URLs against the gateway). */
export async function upload(base: string, item: Presigned, bytes: Buffer): Promise<Response> {
  return fetch(new URL(item.url, base), { method: item.method, headers: item.headers, body: bytes })
}

/** Presigns one PNG for `who` in `conversation` and uploads it; answers its key. */
export async function storedPng(
  booted: Booted,
  who: 'ada' | 'root' | 'guest',
  conversation = 'c1',
  size = 68,
): Promise<string> {
  const answer = await presign(booted.gateway, who, {
    conversation_id: conversation,
    files: [{ extension: 'png', content_type: 'image/png', size }],
  })
  const item = answer.body.items?.[0]
  if (answer.status !== 200 || !item) throw new Error(`presign: ${answer.status} ${JSON.stringify(answer.body)}`)
  const sent = await upload(booted.base, item, png(size))
  if (!sent.ok) throw new Error(`upload: ${sent.status} ${await sent.text()}`)
  return item.key
}

/** Rows of the uploads table, oldest first. */
export async function uploadRows(
  gateway: TestGateway,
): Promise<Array<{ key: string; owner: string; attached_at: unknown }>> {
  return (await gateway.db
    .em()
    .getConnection()
    .execute('select `key`, `owner`, `attached_at` from `uploads` order by `id`')) as Array<{
    key: string
    owner: string
    attached_at: unknown
  }>
}
