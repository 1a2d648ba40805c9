/*
 * The catalog's admin API shapes. Import-free on purpose: the admin console's front end
 * type-checks against these same declarations.
 */

/** How a channel's upstream gets stored images: see docs/catalog.md. */
export type ImageDelivery = 'auto' | 'url' | 'inline'

export interface ChannelView {
  id: number
  name: string
  provider: string
  base_url: string
  /** `disabled_reason` `auth`: the gateway disabled the key after repeated auth refusals, at `disabled_at`. */
  keys: Array<{
    id: number
    hint: string
    enabled: boolean
    disabled_reason: string | null
    disabled_at: string | null
  }>
  models: Array<{ model: string; upstream_model: string }>
  rpm_limit: number
  groups: string[]
  priority: number
  weight: number
  enabled: boolean
  /** Provider settings; a secret one is `{ hint }`, never its value. */
  settings: Record<string, unknown>
  /** How stored images reach the upstream: `auto`, `url` (presigned) or `inline` (`data:` URL). */
  image_delivery: ImageDelivery
  /** This channel's upstream timeouts in ms; null: the gateway's `upstream.*_timeout_ms`. */
  timeouts: ChannelTimeouts
  created_at: string
  updated_at: string
}

export interface ChannelTimeouts {
  connect_ms: number | null
  first_byte_ms: number | null
  idle_ms: number | null
}

export interface ProviderView {
  readonly id: string
  /** The plugin that registered it. */
  readonly plugin: string
  /** Whether it forwards an OpenAI-compatible upstream's bytes as they are. */
  readonly passthrough: boolean
  /** JSON schema of a channel's `settings`; null when the provider takes none. */
  readonly settings_schema: unknown
  /** Settings sealed at rest and never shown again (answered as masked hints). */
  readonly secret_settings: string[]
}

export interface ModelView {
  name: string
  display_name: string
  reasoning: boolean
  vision: boolean
  enabled: boolean
  /** Ids of the channels that serve it. */
  channels: number[]
}

export interface ChatRouteView {
  group_name: string
  channel_id: number
  channel_name: string
  updated_at: string
}

/** `POST /api/admin/channels/:id/test`: one result per key tried. */
export interface ChannelTestView {
  ok: boolean
  model: string | undefined
  upstream_model: string
  results: Array<{
    key_id: number | null
    hint: string | null
    ok: boolean
    latency_ms: number
    status?: number
    error?: string
    reply?: string
  }>
}
