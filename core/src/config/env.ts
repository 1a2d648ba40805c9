/*
 * Environment variables (docs/configuration.md), including ENCRYPTION_KEY_PREVIOUS for key rotation and
 * UPSTREAM_ALLOW_LOOPBACK for a model server on the gateway's own host, and where
 * each lands in the config tree. Values arrive as strings; each is parsed by its kind here, and
 * a value that does not parse is reported with the variable's name instead of being silently
 * dropped.
 */

type Kind = 'string' | 'integer' | 'boolean' | 'list' | 'trust_proxy'

interface EnvBinding {
  readonly variable: string
  readonly key: string
  readonly kind: Kind
}

export const ENV_BINDINGS: readonly EnvBinding[] = [
  { variable: 'APP_PORT', key: 'server.port', kind: 'integer' },
  { variable: 'DATA_DIR', key: 'data_dir', kind: 'string' },
  { variable: 'ADMIN_USERNAME', key: 'admin.username', kind: 'string' },
  { variable: 'ADMIN_PASSWORD', key: 'admin.password', kind: 'string' },
  { variable: 'SECRET_KEY', key: 'secrets.secret_key', kind: 'string' },
  { variable: 'ENCRYPTION_KEY', key: 'secrets.encryption_key', kind: 'string' },
  { variable: 'ENCRYPTION_KEY_PREVIOUS', key: 'secrets.previous_encryption_keys', kind: 'list' },
  { variable: 'DATABASE_PATH', key: 'database.path', kind: 'string' },
  { variable: 'DATABASE_URL', key: 'database.url', kind: 'string' },
  { variable: 'REDIS_URL', key: 'redis.url', kind: 'string' },
  { variable: 'REDIS_PREFIX', key: 'redis.prefix', kind: 'string' },
  { variable: 'LOG_RETENTION_DAYS', key: 'settings.log_retention_days', kind: 'integer' },
  { variable: 'GUEST_RPM', key: 'settings.guest_rpm', kind: 'integer' },
  { variable: 'USER_RPM', key: 'settings.user_rpm', kind: 'integer' },
  { variable: 'CORS_ORIGINS', key: 'server.cors_origins', kind: 'list' },
  { variable: 'TRUST_PROXY', key: 'server.trust_proxy', kind: 'trust_proxy' },
  { variable: 'SITE_BASE_URL', key: 'settings.site_base_url', kind: 'string' },
  { variable: 'NODE_ENV', key: 'env', kind: 'string' },
  { variable: 'LOG_LEVEL', key: 'log.level', kind: 'string' },
  { variable: 'UPSTREAM_ALLOW_LOOPBACK', key: 'upstream.allow_loopback', kind: 'boolean' },
]

export interface EnvOverride {
  readonly variable: string
  readonly key: string
  /** The parsed value, or the raw string when it did not parse (validation then names it). */
  readonly value: unknown
}

export function readEnv(env: Readonly<Record<string, string | undefined>>): EnvOverride[] {
  const overrides: EnvOverride[] = []
  for (const binding of ENV_BINDINGS) {
    const raw = env[binding.variable]
    if (raw === undefined || raw === '') continue
    overrides.push({ variable: binding.variable, key: binding.key, value: parse(binding.kind, raw.trim()) })
  }
  return overrides
}

function parse(kind: Kind, raw: string): unknown {
  switch (kind) {
    case 'integer':
      return /^-?\d+$/.test(raw) ? Number(raw) : raw
    case 'boolean': {
      const word = raw.toLowerCase()
      return ['1', 'true', 'yes', 'on'].includes(word) ? true : ['0', 'false', 'no', 'off'].includes(word) ? false : raw
    }
    case 'list':
      return raw
        .split(',')
        .map(item => item.trim())
        .filter(Boolean)
    case 'trust_proxy':
      return ['off', 'false', 'no', '0'].includes(raw.toLowerCase())
        ? false
        : raw
            .split(',')
            .map(item => item.trim())
            .filter(Boolean)
    case 'string':
      return raw
  }
}
