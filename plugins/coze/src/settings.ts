import { Type, type Static } from '@parley/core'

/** Coze accepts access tokens of up to 24 h less one second. */
export const MAX_TOKEN_DURATION_SECONDS = 86_399

/**
 * A channel's Coze settings. Flat on purpose: the catalog seals only top-level string settings
 * named in `secretSettings`, so the OAuth private key must not sit inside a nested object.
 */
export const CozeSettings = Type.Object(
  {
    /**
     * The channel's upstream model name → the Coze bot id that answers it. A model name that is
     * absent here but is itself a bot id (all digits) is used as the bot id directly.
     */
    bots: Type.Record(Type.String(), Type.String({ pattern: '^[0-9]{1,32}$' }), {
      default: {},
      description: 'Upstream model name → Coze bot id',
    }),
    /** OAuth app id (the JWT `iss`); with the two below, the channel signs in as the app. */
    oauth_app_id: Type.Optional(
      Type.String({
        pattern: '^[0-9]{1,32}$',
        description: 'OAuth app id (JWT iss); with the key id and private key the channel signs in as the app',
      }),
    ),
    /** The app's public key id, shown next to the key in Coze (the JWT header `kid`). */
    oauth_key_id: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        pattern: '^\\S+$',
        description: "The app's public key id (JWT kid)",
      }),
    ),
    /** The app's private key (PEM), sealed at rest like channel keys. */
    oauth_private_key: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 16_384,
        description: "The app's private key (PEM); sealed at rest, never shown again",
      }),
    ),
    /** The JWT `aud`; the host of the channel's base URL when absent (a proxy in front of Coze needs `api.coze.cn`). */
    oauth_audience: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 253,
        pattern: '^[A-Za-z0-9.-]+(:[0-9]{1,5})?$',
        description: "JWT aud; the base URL's host when empty",
      }),
    ),
    /** Lifetime asked for each access token; Coze's own default is 900. */
    token_duration_seconds: Type.Integer({
      minimum: 60,
      maximum: MAX_TOKEN_DURATION_SECONDS,
      default: 3600,
      description: 'Lifetime asked for each access token (s)',
    }),
    /**
     * Coze messages have no system role: `user` sends each system (and developer) message as a
     * user message where it stood, `drop` leaves them out (the bot's own persona then rules).
     */
    system_messages: Type.Union([Type.Literal('user'), Type.Literal('drop')], {
      default: 'user',
      description: 'System messages: sent as user messages, or dropped',
    }),
  },
  { additionalProperties: false },
)

export type CozeSettingsValue = Static<typeof CozeSettings>

/** The settings the catalog seals and never shows again. */
export const SECRET_SETTINGS = ['oauth_private_key'] as const

/** The OAuth app of a channel, when all three of its fields are set. */
export interface OAuthApp {
  readonly appId: string
  readonly keyId: string
  readonly privateKey: string
  readonly audience: string
  readonly durationSeconds: number
}

export interface ChannelSettings {
  readonly bots: Readonly<Record<string, string>>
  readonly systemMessages: 'user' | 'drop'
  /** `undefined`: no OAuth app; `'incomplete'`: some of its fields are missing. */
  readonly oauth: OAuthApp | 'incomplete' | undefined
}

const settingsCache = new WeakMap<object, ChannelSettings>()

/**
 * Reads the (already validated, secrets opened) settings of a routed channel. The snapshot's
 * settings object is frozen and reused across calls, so the reading is done once per snapshot.
 */
export function channelSettings(settings: Readonly<Record<string, unknown>>, baseUrl: string): ChannelSettings {
  const cached = settingsCache.get(settings)
  if (cached) return cached
  const text = (key: string) =>
    typeof settings[key] === 'string' && settings[key] !== '' ? (settings[key] as string) : undefined
  const appId = text('oauth_app_id')
  const keyId = text('oauth_key_id')
  const privateKey = text('oauth_private_key')
  const duration = typeof settings.token_duration_seconds === 'number' ? settings.token_duration_seconds : 3600
  let oauth: ChannelSettings['oauth']
  if (appId && keyId && privateKey) {
    oauth = {
      appId,
      keyId,
      privateKey,
      audience: text('oauth_audience') ?? hostOf(baseUrl),
      durationSeconds: Math.min(Math.max(60, duration), MAX_TOKEN_DURATION_SECONDS),
    }
  } else if (appId || keyId || privateKey) {
    oauth = 'incomplete'
  }
  const bots =
    typeof settings.bots === 'object' && settings.bots !== null ? (settings.bots as Record<string, string>) : {}
  const read: ChannelSettings = { bots, systemMessages: settings.system_messages === 'drop' ? 'drop' : 'user', oauth }
  settingsCache.set(settings, read)
  return read
}

/** The bot that answers `model` on this channel, or undefined. */
export function botFor(model: string, settings: ChannelSettings): string | undefined {
  const bot = settings.bots[model]
  if (bot) return bot
  return /^[0-9]{6,32}$/.test(model) ? model : undefined
}

function hostOf(baseUrl: string): string {
  try {
    return new URL(baseUrl).host
  } catch {
    return baseUrl
  }
}
