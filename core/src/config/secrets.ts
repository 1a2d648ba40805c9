import { randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { errors } from '../errors.js'
import type { Logger } from '../logger.js'
import type { Config } from './schema.js'

/** The process's secrets, resolved once at start. Never logged. */
export interface Secrets {
  /** Signs JWTs (HS256). */
  readonly secretKey: string
  /** 32 bytes for AES-256-GCM of upstream keys at rest. */
  readonly encryptionKey: Buffer
  /**
   * Keys being rotated out (ENCRYPTION_KEY_PREVIOUS): they only open what they sealed. Optional
   * so that secrets built by hand (`createGateway({ secrets })`, tests) need not name it.
   */
  readonly previousEncryptionKeys?: readonly Buffer[]
}

const SECRETS_FILE = 'secrets.json'

/**
 * SECRET_KEY / ENCRYPTION_KEY from config or environment. In the embedded default a missing
 * one is generated into `<data_dir>/secrets.json` (mode 0600) and reused on the next start, so
 * a restart does not log everyone out or make stored keys unreadable. In production a missing
 * secret stops the start: a generated file on one instance's disk is wrong for N instances.
 */
export function resolveSecrets(config: Config, log: Logger): Secrets {
  const configured = config.secrets
  if (config.env === 'production') {
    const missing = [
      configured.secret_key ? undefined : 'SECRET_KEY (secrets.secret_key)',
      configured.encryption_key ? undefined : 'ENCRYPTION_KEY (secrets.encryption_key)',
    ].filter(Boolean)
    if (missing.length > 0) {
      throw errors.PARLEY_ERR_CONFIG_SECRETS({
        reason: `NODE_ENV=production needs ${missing.join(' and ')}; generate one with: openssl rand -hex 32`,
      })
    }
  }
  let stored: { secret_key?: string; encryption_key?: string } = {}
  const file = path.join(config.data_dir, SECRETS_FILE)
  if (!configured.secret_key || !configured.encryption_key) {
    stored = readStored(file)
    const generated: string[] = []
    if (!configured.secret_key && !stored.secret_key) {
      stored.secret_key = randomBytes(32).toString('hex')
      generated.push('SECRET_KEY')
    }
    if (!configured.encryption_key && !stored.encryption_key) {
      stored.encryption_key = randomBytes(32).toString('hex')
      generated.push('ENCRYPTION_KEY')
    }
    if (generated.length > 0) {
      mkdirSync(path.dirname(file), { recursive: true })
      writeFileSync(file, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 })
      chmodSync(file, 0o600)
      log.warn(
        { file, generated },
        'generated missing secrets into the data directory; set SECRET_KEY and ENCRYPTION_KEY for production',
      )
    }
  }
  const secretKey = configured.secret_key ?? stored.secret_key
  const encryptionText = configured.encryption_key ?? stored.encryption_key
  if (!secretKey || !encryptionText) throw errors.PARLEY_ERR_CONFIG_SECRETS({ reason: 'secrets could not be resolved' })
  const previous = configured.previous_encryption_keys
  const previousEncryptionKeys = Object.freeze(
    previous.map((text, index) =>
      parseEncryptionKey(
        text,
        `ENCRYPTION_KEY_PREVIOUS (secrets.previous_encryption_keys), entry ${index + 1} of ${previous.length},`,
      ),
    ),
  )
  return Object.freeze({ secretKey, encryptionKey: parseEncryptionKey(encryptionText), previousEncryptionKeys })
}

/** 64 hex characters or base64 of exactly 32 bytes; `name` says which setting in the error. */
export function parseEncryptionKey(text: string, name = 'ENCRYPTION_KEY (secrets.encryption_key)'): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64')
  if (key.length !== 32) {
    throw errors.PARLEY_ERR_CONFIG_SECRETS({
      reason: `${name} must be 32 bytes: 64 hex characters or base64; generate one with: openssl rand -hex 32`,
    })
  }
  return key
}

function readStored(file: string): { secret_key?: string; encryption_key?: string } {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw errors.PARLEY_ERR_CONFIG_SECRETS({ reason: `cannot read ${file}: ${(error as NodeJS.ErrnoException).code}` })
  }
  try {
    const data = JSON.parse(text) as unknown
    if (typeof data === 'object' && data !== null) return data as { secret_key?: string; encryption_key?: string }
  } catch {
    // fall through to the error below
  }
  throw errors.PARLEY_ERR_CONFIG_SECRETS({
    reason: `${file} is not valid JSON; fix or delete it (deleting logs everyone out)`,
  })
}
