import type { Logger } from '../logger.js'
import { MemoryKeyValueStore } from './memory.js'
import type { KeyValueStore } from './port.js'

export type { KeyValueStore } from './port.js'
export { MemoryKeyValueStore, type MemoryKeyValueStoreOptions } from './memory.js'
export type { RedisKeyValueStoreOptions } from './redis.js'

/**
 * Redis when a URL is configured (N instances share state), memory otherwise (one process).
 * The Redis driver (and ioredis) is imported only then: a single instance never loads it.
 */
export async function createKeyValueStore(options: {
  redisUrl?: string
  prefix?: string
  logger?: Logger
}): Promise<KeyValueStore> {
  const { redisUrl, prefix, logger } = options
  if (!redisUrl) return new MemoryKeyValueStore({ prefix, logger })
  const { RedisKeyValueStore } = await import('./redis.js')
  return new RedisKeyValueStore({ url: redisUrl, prefix, logger })
}
