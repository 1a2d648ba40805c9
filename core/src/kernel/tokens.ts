/**
 * Dependency-injection tokens of the kernel's services. Explicit symbols (never reflected
 * types), registered `Symbol.for` so two copies of core in one process still agree.
 *
 * @example
 * const settings = ctx.container.resolve<SettingsRegistry>(TOKENS.settings)
 */
export const TOKENS = Object.freeze({
  config: Symbol.for('parley.core.config'),
  logger: Symbol.for('parley.core.logger'),
  secrets: Symbol.for('parley.core.secrets'),
  kv: Symbol.for('parley.core.kv'),
  jobs: Symbol.for('parley.core.jobs'),
  database: Symbol.for('parley.core.database'),
  settings: Symbol.for('parley.core.settings'),
  events: Symbol.for('parley.core.events'),
  metrics: Symbol.for('parley.core.metrics'),
  registries: Symbol.for('parley.core.registries'),
  catalog: Symbol.for('parley.core.catalog'),
  usage: Symbol.for('parley.core.usage'),
  /** The data plane for plugin routes: `ChatService` (pipeline/chat-service.ts). */
  chat: Symbol.for('parley.core.chat'),
  /** The `ObjectStorage` that `storage.driver` chose (see docs/storage.md). */
  storage: Symbol.for('parley.core.storage'),
  /** Stored-image references (`parley-object://`): owners and URLs for clients (`ObjectRefs`). */
  objects: Symbol.for('parley.core.objects'),
})
