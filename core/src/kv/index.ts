import type { Logger } from '../logger.js'
import { MemoryKeyValueStore } from './memory.js'
import type { KeyValueStore } from './port.js'
import { RedisKeyValueStore } from './redis.js'

export type { KeyValueStore } from './port.js'
export { MemoryKeyValueStore, type MemoryKeyValueStoreOptions } from './memory.js'
export { RedisKeyValueStore, type RedisKeyValueStoreOptions } from './redis.js'

/** Redis when a URL is configured (N instances share state), memory otherwise (one process). */
export function createKeyValueStore(options: { redisUrl?: string; prefix?: string; logger?: Logger }): KeyValueStore {
  const { redisUrl, prefix, logger } = options
  return redisUrl
    ? new RedisKeyValueStore({ url: redisUrl, prefix, logger })
    : new MemoryKeyValueStore({ prefix, logger })
}
