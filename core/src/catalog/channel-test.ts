import type { Logger } from '../logger.js'

/** A channel as the channel test sees it: opened from the database, enabled or not. */
export interface ProbeChannel {
  readonly channelId: number
  readonly channelName: string
  readonly provider: string
  readonly baseUrl: string
  readonly key: { readonly id: number; readonly key: string } | undefined
  readonly settings: Readonly<Record<string, unknown>>
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
}
