import { ROOT } from './fixture-auth.js'
import type { TestGateway } from './gateway.js'
import { until } from './wait.js'

/** What `createChannel` sends to `POST /api/admin/channels`; the provider defaults to `openai`. */
export interface ChannelFields {
  readonly name: string
  readonly base_url: string
  readonly keys?: readonly string[]
  readonly models?: ReadonlyArray<string | { model: string; upstream_model?: string }>
  readonly groups?: readonly string[]
  readonly priority?: number
  readonly weight?: number
  readonly settings?: Record<string, unknown>
  readonly provider?: string
  readonly enabled?: boolean
  /** How stored images (`parley-object://`) reach the upstream; `auto` by default. */
  readonly image_delivery?: 'auto' | 'url' | 'inline'
  /** The channel's own upstream timeouts in ms; absent or null: the gateway's. */
  readonly timeouts?: {
    readonly connect_ms?: number | null
    readonly first_byte_ms?: number | null
    readonly idle_ms?: number | null
  }
}

/** Creates a channel through the admin API and waits until the routing snapshot has it. */
export async function createChannel(gateway: TestGateway, fields: ChannelFields, adminToken = ROOT): Promise<number> {
  const response = await gateway.inject({
    method: 'POST',
    url: '/api/admin/channels',
    headers: { authorization: `Bearer ${adminToken}` },
    payload: { provider: 'openai', ...fields },
  })
  if (response.statusCode !== 201)
    throw new Error(`channel ${fields.name}: HTTP ${response.statusCode} ${response.body}`)
  const id = (response.json() as { id: number }).id
  if (fields.enabled !== false)
    await until(
      () => gateway.catalog.current().channels.some(channel => channel.id === id),
      `channel ${fields.name} in the snapshot`,
    )
  return id
}

/** Pins a group's portal traffic to a channel and waits until the snapshot has the route. */
export async function createChatRoute(
  gateway: TestGateway,
  group: string,
  channelId: number,
  adminToken = ROOT,
): Promise<void> {
  const response = await gateway.inject({
    method: 'POST',
    url: '/api/admin/chat-routes',
    headers: { authorization: `Bearer ${adminToken}` },
    payload: { group_name: group, channel_id: channelId },
  })
  if (response.statusCode >= 300) throw new Error(`chat route ${group}: HTTP ${response.statusCode} ${response.body}`)
  await until(
    () => gateway.catalog.current().chatRoutes.get(group) === channelId,
    `chat route of ${group} in the snapshot`,
  )
}
