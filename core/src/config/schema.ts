import { FormatRegistry, Type, type Static, type TSchema } from '@sinclair/typebox'

/*
 * The configuration schema: the one place that says which keys exist, their types and their
 * defaults. YAML keys are snake_case; every object refuses unknown keys so a typo stops the
 * start instead of being silently ignored.
 */

export const DEFAULT_PORT = 8000
export const DEFAULT_BODY_LIMIT = 10 * 1024 * 1024 // chat requests may carry inline images
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 25_000 // under a typical 30 s orchestrator grace period
export const DEFAULT_DB_CONNECT_TIMEOUT_MS = 30_000

const strict = { additionalProperties: false } as const

// TypeBox checks string formats through its registry. Registering this one makes the settings
// registry refuse a zone Intl does not know at runtime (PUT /api/admin/config), as the config
// loader does at start; stats would otherwise fail on every request after a typo.
FormatRegistry.Set('iana-time-zone', zone => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone })
    return true
  } catch {
    return false
  }
})

const Integer = (min: number, max: number, fallback: number) =>
  Type.Integer({ minimum: min, maximum: max, default: fallback })

const LogLevel = Type.Union(
  [
    Type.Literal('fatal'),
    Type.Literal('error'),
    Type.Literal('warn'),
    Type.Literal('info'),
    Type.Literal('debug'),
    Type.Literal('trace'),
    Type.Literal('silent'),
  ],
  { default: 'info' },
)

const PluginEntry = Type.Union([
  Type.String({ minLength: 1, description: 'module specifier of a plugin package' }),
  Type.Object(
    {
      use: Type.String({ minLength: 1, description: 'module specifier of a plugin package' }),
      options: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    },
    strict,
  ),
])

export const ServerSchema = Type.Object(
  {
    host: Type.String({ default: '0.0.0.0', minLength: 1 }),
    port: Integer(0, 65535, DEFAULT_PORT),
    body_limit: Integer(1024, 512 * 1024 * 1024, DEFAULT_BODY_LIMIT),
    /** Whole request (headers and body) must arrive within this time; slowloris guard. */
    request_timeout_ms: Integer(1000, 3_600_000, 60_000),
    headers_timeout_ms: Integer(1000, 600_000, 10_000),
    /** Longer than a load balancer's idle timeout (often 60 s) so the balancer closes first. */
    keep_alive_timeout_ms: Integer(1000, 600_000, 72_000),
    shutdown_timeout_ms: Integer(0, 600_000, DEFAULT_SHUTDOWN_TIMEOUT_MS),
    /** false, or the addresses/CIDRs of proxies whose X-Forwarded-For is believed. */
    trust_proxy: Type.Union([Type.Literal(false), Type.Array(Type.String({ minLength: 1 }))], { default: false }),
    cors_origins: Type.Array(Type.String({ minLength: 1 }), { default: ['*'] }),
    /** Swagger UI at /docs. Unset: on, except with `env: production` (resolved by loadConfig). */
    docs: Type.Optional(Type.Boolean()),
    metrics: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        /** When set, /metrics answers `Authorization: Bearer <token>` from any address. */
        token: Type.Optional(Type.String({ minLength: 16 })),
        /**
         * Addresses and CIDRs /metrics answers without the token. Unset: nobody when a token is
         * set; else loopback only with `env: production`, anyone otherwise (resolved by loadConfig).
         */
        allow: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
      },
      { ...strict, default: {} },
    ),
  },
  { ...strict, default: {} },
)

/**
 * The runtime settings and their defaults. Each `title` and `description` is the English label
 * and help the console shows; other languages are in settings/core-texts.ts.
 */
export const SettingsDefaultsSchema = Type.Object(
  {
    guest_rpm: Type.Integer({
      minimum: 0,
      maximum: 1_000_000,
      default: 10,
      title: 'Guest requests per minute',
      description: 'Per IP address; 0 for no limit',
    }),
    user_rpm: Type.Integer({
      minimum: 0,
      maximum: 1_000_000,
      default: 60,
      title: 'User requests per minute',
      description: "Per user, unless the user's group sets its own; 0 for no limit",
    }),
    log_retention_days: Type.Integer({
      minimum: 1,
      maximum: 3650,
      default: 90,
      title: 'Keep usage logs (days)',
      description: 'Older usage log rows are deleted every night',
    }),
    allow_registration: Type.Boolean({
      default: true,
      title: 'Open registration',
      description: 'Anyone may create an account on the portal',
    }),
    allow_guest: Type.Boolean({
      default: false,
      title: 'Guests may chat',
      description: 'Visitors who are not signed in may use the chat page',
    }),
    chat_history_mode: Type.Union(
      [
        Type.Literal('browser', { title: 'In the browser' }),
        Type.Literal('memory', { title: 'Not kept' }),
        Type.Literal('server', { title: 'On the server' }),
      ],
      { default: 'browser', title: 'Chat history', description: 'Where the portal keeps conversations' },
    ),
    site_name: Type.String({
      default: 'Parley',
      minLength: 1,
      maxLength: 100,
      title: 'Site name',
      description: 'Shown in the page header and titles',
    }),
    site_base_url: Type.String({
      default: '',
      title: 'Public base URL',
      description: 'The address users reach the gateway at, e.g. https://chat.example.com; empty if unknown',
    }),
    default_group: Type.String({
      default: 'default',
      minLength: 1,
      maxLength: 64,
      title: 'Group of new users',
      description: 'New accounts join this group',
    }),
    model_passthrough: Type.Boolean({
      default: false,
      title: 'Pass unknown models through',
      description: 'Forward any model name as is, instead of serving only the enabled models of the catalog',
    }),
    /** Admit upstream base URLs on private networks (LAN model servers); off: SSRF protection. */
    allow_private_upstreams: Type.Boolean({
      default: false,
      title: 'Allow upstreams on private networks',
      description: 'Channels may point at LAN addresses (a model server on your network); off protects against SSRF',
    }),
    /** Consecutive auth refusals (401/403) after which a channel key is disabled (catalog/key-disable.ts). */
    key_auto_disable_after: Type.Integer({
      minimum: 0,
      maximum: 1000,
      default: 3,
      title: 'Disable a key after auth failures',
      description:
        'A channel key the upstream refuses (401/403) this many times in a row is disabled; a passing channel test enables it again. 0: never',
    }),
    /**
     * Days of the dashboard's stats start at midnight here. Its description completes the
     * refusal "expected …" (validation.ts); the console's help is in settings/core-texts.ts.
     */
    time_zone: Type.String({
      default: 'UTC',
      minLength: 1,
      format: 'iana-time-zone',
      title: 'Time zone of the stats',
      description: 'an IANA time zone such as UTC or Asia/Shanghai',
    }),
  },
  { ...strict, default: {} },
)

export const ConfigSchema = Type.Object(
  {
    env: Type.Union([Type.Literal('development'), Type.Literal('production'), Type.Literal('test')], {
      default: 'development',
    }),
    data_dir: Type.String({ default: './data', minLength: 1 }),
    server: ServerSchema,
    database: Type.Object(
      {
        /** SQLite file; defaults to `<data_dir>/parley.db`. */
        path: Type.Optional(Type.String({ minLength: 1 })),
        /** mysql://user:pass@host:port/db — wins over `path`. */
        url: Type.Optional(Type.String({ pattern: '^(mysql|mariadb)://' })),
        connect_timeout_ms: Integer(0, 600_000, DEFAULT_DB_CONNECT_TIMEOUT_MS),
        /** At least 2: migrations hold a lock on one connection while running on another. */
        pool_max: Integer(2, 500, 10),
        debug: Type.Boolean({ default: false }),
      },
      { ...strict, default: {} },
    ),
    redis: Type.Object(
      {
        url: Type.Optional(Type.String({ pattern: '^rediss?://' })),
        prefix: Type.String({ default: 'parley:', minLength: 1 }),
      },
      { ...strict, default: {} },
    ),
    /** How the data plane talks to upstreams: timeouts, failover and connection pools. */
    upstream: Type.Object(
      {
        /** TCP (and TLS) connect to the upstream. */
        connect_timeout_ms: Integer(100, 600_000, 10_000),
        /** Sending the request to the first byte of the answer (headers and first chunk); reasoning models think before answering. */
        first_byte_timeout_ms: Integer(100, 3_600_000, 120_000),
        /** Silence between two chunks of a streamed answer. */
        idle_timeout_ms: Integer(100, 3_600_000, 60_000),
        /** A whole call, failovers included. */
        total_timeout_ms: Integer(1000, 24 * 3_600_000, 900_000),
        /** Upstream attempts per call (keys, then channels) before the client gets the error. */
        max_attempts: Integer(1, 20, 4),
        /** Open connections per upstream origin; 0: no limit. */
        connections: Integer(0, 100_000, 0),
        /** An idle pooled connection is closed after this long unless the upstream says otherwise. */
        keep_alive_timeout_ms: Integer(100, 600_000, 30_000),
        /**
         * Admit upstreams on loopback (127/8, ::1, ::ffff:127.x, localhost): a model server on the
         * gateway's own host (Ollama, vLLM, LM Studio). The operator's alone, on purpose no runtime
         * setting: an admin could otherwise point channels at every service on the host.
         * Link-local, metadata and unspecified addresses stay refused whatever it says.
         */
        allow_loopback: Type.Boolean({ default: false }),
      },
      { ...strict, default: {} },
    ),
    secrets: Type.Object(
      {
        /** Signs JWTs; at least 32 characters. */
        secret_key: Type.Optional(Type.String({ minLength: 32 })),
        /** Encrypts upstream keys at rest: 32 bytes as 64 hex characters or base64. */
        encryption_key: Type.Optional(Type.String({ minLength: 32 })),
        /** Keys being rotated out: they still open stored secrets until re-encrypted with the current one. */
        previous_encryption_keys: Type.Array(Type.String({ minLength: 32 }), { default: [] }),
      },
      { ...strict, default: {} },
    ),
    admin: Type.Object(
      {
        username: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
        password: Type.Optional(Type.String({ minLength: 8 })),
      },
      { ...strict, default: {} },
    ),
    /** Object storage for uploads (docs/storage.md). */
    storage: Type.Object(
      {
        /**
         * The driver to use, by the name its plugin registers (`local`, `s3`). Unset: the only
         * one loaded; with several loaded the start stops until one is named.
         */
        driver: Type.Optional(Type.String({ minLength: 1, maxLength: 50, pattern: '^[a-z][a-z0-9-]*$' })),
      },
      { ...strict, default: {} },
    ),
    log: Type.Object({ level: LogLevel }, { ...strict, default: {} }),
    /**
     * The active theme: a folder name under `themes_dir`, a path (`./my-theme`, from the working
     * directory), or an installed package's name (`@acme/parley-theme-paper`).
     */
    theme: Type.String({ default: 'default', minLength: 1, maxLength: 500, pattern: '^[^\\u0000-\\u001f]+$' }),
    /** Where themes are found; relative to the working directory. Default: the repository's `themes/`. */
    themes_dir: Type.Optional(Type.String({ minLength: 1 })),
    plugins: Type.Array(PluginEntry, { default: [] }),
    /** Defaults of the runtime settings an admin can later change in the console. */
    settings: SettingsDefaultsSchema,
  },
  strict,
)

export type ParleyConfig = Static<typeof ConfigSchema>
export type SettingsDefaults = Static<typeof SettingsDefaultsSchema>
export type PluginConfigEntry = Static<typeof PluginEntry>

/** Readonly all the way down: config is frozen after validation. */
export type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T

export type Config = DeepReadonly<ParleyConfig> & {
  /** Where each value came from, for error messages and `parley doctor`. */
  readonly sources: Readonly<Record<string, string>>
  /** The config file that was read, if any. */
  readonly file: string | undefined
}

export type { TSchema }
