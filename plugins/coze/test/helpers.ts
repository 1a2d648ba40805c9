/**
 * Shared by the coze plugin's tests: an OAuth app key pair, a gateway with the coze provider
 * and the test kit's fixture auth, the mock Coze API, and Coze channels made through the
 * admin API. The generic helpers (channels, usage rows, SSE) come from the test kit.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto'
import type { Test } from 'tap'
import {
  captureLogs,
  createChannel,
  createTestGateway,
  fixtureAuth,
  type CapturedLogs,
  type TestGateway,
  type TestGatewayOptions,
} from '@parley/core/testing'
import coze from '@parley/coze'
import { startMockCoze, type MockCoze, type MockCozeOptions } from './mock-coze.js'

export {
  createChannel,
  post,
  readSse,
  ROOT,
  sdk,
  statusOf,
  until,
  usageRows,
  waitForRows,
  type UsageRow,
} from '@parley/core/testing'

export const APP_ID = '1127900106117'
export const KEY_ID = 'vYwfltTu9fAmkpXXRvtyRdDstN5S3ecEp1jW0zuT2DM'
export const BOT = '7439630213807570979'
export const OTHER_BOT = '7451546733060177959'

export interface AppKeys {
  readonly privatePem: string
  readonly publicKey: KeyObject
}

/** A fresh RSA key pair, as Coze's "create key" button makes (PKCS#8 PEM private key). */
export function appKeys(): AppKeys {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  return { privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKey }
}

/** A personal access token in Coze's shape. */
export function pat(): string {
  return `pat_${randomBytes(24).toString('hex')}`
}

export interface CozeGateway {
  readonly gateway: TestGateway
  readonly logs: CapturedLogs
}

/** A listening gateway with the fixture auth and the coze provider, its logs captured, closed at teardown. */
export async function bootCoze(
  t: Test,
  options: TestGatewayOptions & { cozeOptions?: Record<string, unknown> } = {},
): Promise<CozeGateway> {
  const { cozeOptions, ...rest } = options
  const logs = captureLogs('debug')
  const gateway = await createTestGateway({
    plugins: [fixtureAuth, { plugin: coze, options: cozeOptions ?? {} }],
    listen: true,
    logger: logs.logger,
    ...rest,
  })
  t.teardown(gateway.close)
  return { gateway, logs }
}

/** The mock Coze API with one OAuth app (the given keys), closed at teardown. */
export async function mockCoze(t: Test, keys: AppKeys | undefined, options: MockCozeOptions = {}): Promise<MockCoze> {
  const coze = await startMockCoze({
    ...(keys ? { apps: [{ appId: APP_ID, keyId: KEY_ID, publicKey: keys.publicKey }] } : {}),
    ...options,
  })
  t.teardown(coze.close)
  return coze
}

export interface CozeChannel {
  readonly name?: string
  /** PATs as the channel's keys. */
  readonly keys?: readonly string[]
  /** The OAuth app's private key; the app id and key id are the helpers' own. */
  readonly privatePem?: string
  readonly models?: ReadonlyArray<string | { model: string; upstream_model?: string }>
  readonly bots?: Record<string, string>
  readonly settings?: Record<string, unknown>
  readonly priority?: number
}

/** Creates a coze channel on the mock through the admin API and waits until routing has it. */
export function cozeChannel(gateway: TestGateway, coze: MockCoze, channel: CozeChannel = {}): Promise<number> {
  const oauth = channel.privatePem
    ? { oauth_app_id: APP_ID, oauth_key_id: KEY_ID, oauth_private_key: channel.privatePem }
    : {}
  return createChannel(gateway, {
    provider: 'coze',
    name: channel.name ?? 'coze',
    base_url: coze.url,
    keys: channel.keys ?? [],
    models: channel.models ?? ['coze-bot'],
    groups: ['default'],
    ...(channel.priority === undefined ? {} : { priority: channel.priority }),
    settings: { bots: channel.bots ?? { 'coze-bot': BOT }, ...oauth, ...channel.settings },
  })
}

/** Every line and client-visible text must be free of these. */
export function assertNoSecrets(
  t: Test,
  logs: CapturedLogs,
  texts: readonly string[],
  secrets: readonly string[],
): void {
  for (const secret of secrets) {
    const label = `${secret.slice(0, 10)}…`
    t.same(logs.containing(secret), [], `${label} is in no log line`)
    t.notOk(
      texts.some(text => text.includes(secret)),
      `${label} is in nothing the client saw`,
    )
  }
}

/** The body of a PEM key, which must never show up anywhere (a line of it is enough to tell). */
export function pemLines(pem: string): string[] {
  return pem.split('\n').filter(line => line.length > 40)
}
