import type { Logger } from '../logger.js'
import type { ChannelTimeoutsMs } from './snapshot.js'
import type { ChannelView } from './views.js'

/** A channel as the channel test sees it: opened from the database, enabled or not. */
export interface ProbeChannel {
  readonly channelId: number
  readonly channelName: string
  readonly provider: string
  readonly baseUrl: string
  readonly key: { readonly id: number; readonly key: string } | undefined
  readonly settings: Readonly<Record<string, unknown>>
  /** The channel's own timeouts, when it has any. */
  readonly timeouts?: ChannelTimeoutsMs
}

export interface ProbeResult {
  readonly ok: boolean
  readonly latency_ms: number
  /** The upstream's HTTP status when it refused. */
  readonly status?: number
  readonly error?: string
  /** The start of the model's reply. */
  readonly reply?: string
}

/**
 * `POST /api/admin/channels/:id/test`: one short real chat with a channel's key. The data plane
 * implements it (same timeouts and SSRF policy as traffic); the catalog only asks.
 */
export interface ChannelTester {
  probe(channel: ProbeChannel, model: string, log: Logger): Promise<ProbeResult>
  /**
   * The model ids the upstream offers (the provider's `listModels`), for the console to pick
   * from; a refusal or a provider without the call is a catalogue error.
   */
  listModels(channel: ProbeChannel, log: Logger): Promise<string[]>
}

/** A stored channel as the tester sees it, with one key (or none) and its opened settings. */
export function probeChannelOf(
  view: ChannelView,
  key: { readonly id: number; readonly key: string } | undefined,
  settings: Readonly<Record<string, unknown>>,
): ProbeChannel {
  const { connect_ms, first_byte_ms, idle_ms } = view.timeouts
  return {
    channelId: view.id,
    channelName: view.name,
    provider: view.provider,
    baseUrl: view.base_url,
    key,
    settings,
    timeouts: {
      ...(connect_ms === null ? {} : { connectMs: connect_ms }),
      ...(first_byte_ms === null ? {} : { firstByteMs: first_byte_ms }),
      ...(idle_ms === null ? {} : { idleMs: idle_ms }),
    },
  }
}
