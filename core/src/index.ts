/**
 * @parley/core — the only module plugins import. Everything here is public contract; anything
 * not exported here is an internal that may change without notice.
 */
export { createGateway, type Gateway, type GatewayOptions } from './kernel/gateway.js'
export {
  definePlugin,
  type AnyEntitySchema,
  type AnyPluginDefinition,
  type CliCommand,
  type DoctorCheck,
  type PluginContext,
  type PluginDatabase,
  type PluginDefinition,
  type PluginEntry,
  type PluginJobs,
  type PluginSettings,
  type PluginUi,
} from './kernel/plugin.js'
export type { LoadedPlugin } from './kernel/loader.js'
export type { PluginRegistry, Registered, Registry } from './kernel/registry.js'
export type { Registries } from './kernel/registries.js'
export { TOKENS } from './kernel/tokens.js'
export { CORE_VERSION } from './kernel/version.js'
export { GATEWAY_V8_FLAGS, releaseStartupMemory, tuneProcessForGateway } from './runtime.js'

export { loadConfig, type LoadConfigOptions } from './config/load.js'
export type { Config, DeepReadonly, SettingsDefaults } from './config/schema.js'
export type { Secrets } from './config/secrets.js'

export {
  defineErrors,
  errors,
  ParleyError,
  type ErrorFactory,
  type ErrorFactoryOptions,
  type ErrorSpec,
  type ParleyErrorOptions,
} from './errors.js'
export type { Logger } from './logger.js'

export type { Database } from './db/database.js'
export type { Dialect, DialectMigrations, MigrationStep } from './db/migrations.js'
export { defineEntity, UniqueConstraintViolationException, type EntityManager, type InferEntity } from '@mikro-orm/core'
export { Type, type Static, type TSchema } from '@sinclair/typebox'

export type { KeyValueStore } from './kv/port.js'
export type { EnqueueOptions, JobDefinition, JobQueue, JobRun } from './jobs/port.js'
export type { EventBus, EventHandler, ParleyEvents } from './events/bus.js'
export type { Setting, SettingDefinition, SettingInfo, SettingsRegistry } from './settings/registry.js'

export type { HttpScope } from './http/server.js'
export type { HealthCheck } from './http/health.js'
export type { ErrorEnvelope } from './http/errors.js'
export type { RequestContext } from './http/context.js'

export type { AuthStrategy, Principal, UsageMeter } from './auth/principal.js'
export type { FastifyReply, FastifyRequest } from 'fastify'
export {
  principalOf,
  requireRole,
  requireUser,
  type Role,
  type SessionUser,
  type TokenUser,
} from './auth/authenticate.js'
export type { LimitAllowance, LimitDecision, LimitPolicy, LimitRefusal, LimitSubject } from './pipeline/limits.js'
export { andThen, isPromiseLike, type MaybePromise } from './maybe.js'
export type {
  ChatContentPart,
  ChatErrorEvent,
  ChatEvent,
  ChatMessage,
  ChatProvider,
  ChatRequest,
  Passthrough,
  PassthroughPath,
  PassthroughRequest,
  UpstreamHttpRequest,
  ProviderCall,
  UpstreamTarget,
} from './pipeline/provider.js'
export { SseSplitter, type SseEvent } from './pipeline/sse.js'
export type { CallEnd, CallObserver, CallOutput, CallStart, CallWatch } from './pipeline/lifecycle.js'
export {
  personalModelName,
  type PersonalModelItem,
  type PersonalModels,
  type PersonalParameters,
  type PersonalUpstream,
} from './pipeline/personal-upstream.js'
export type { ChatService, ChatServiceCall, DetachedChatCall } from './pipeline/chat-service.js'
export type { ChatSink, DetachedOutcome } from './pipeline/detached-call.js'
export {
  objectKeyOf,
  objectKeysIn,
  objectOwner,
  ownsObjectKey,
  replaceObjectRefs,
  ObjectRefs,
  OBJECT_REF_PREFIX,
  OBJECT_VIEW_SECONDS,
} from './pipeline/object-refs.js'
export type {
  ObjectStorage,
  PresignedDownload,
  PresignedUpload,
  PresignPutOptions,
  StoredObject,
  StoredObjectInfo,
} from './storage/port.js'
export {
  checkContentType,
  checkExpiry,
  checkPresignPut,
  checkStorageKey,
  storageKeyProblem,
  PRESIGN_MAX_SECONDS,
  STORAGE_KEY_MAX_LENGTH,
  STORAGE_SEGMENT_MAX_LENGTH,
  UPLOAD_MAX_BYTES,
} from './storage/keys.js'
export { ActiveStorage, STORAGE_HEALTH_CACHE_MS } from './storage/active.js'
export type { RetentionContext, RetentionTask } from './retention/task.js'
export { deleteInBatches, type BatchedDelete } from './retention/batches.js'
export { RETENTION_JOB, type RetentionReport } from './retention/job.js'
export type { CatalogCache, CatalogSnapshot, ModelInfo, RoutableChannel } from './catalog/snapshot.js'
export type { UsageRecord, UsageWriter } from './usage/writer.js'
export type { UsageTally, UserUsage } from './usage/views.js'
export { checkBaseUrl, type AddressPolicy } from './upstream/upstream-address.js'
export { RESERVED_UPSTREAM_HEADERS, reservedUpstreamHeader } from './upstream/reserved-headers.js'
export { maskSecret, SecretBox } from './catalog/secret-box.js'
export type { UiAdminSection, UiNavItem, UiPage, UiPartial } from './ui/contributions.js'
export { languageOf, type Language } from './i18n.js'
export type { ThemeEngine } from './ui/engine.js'
export { CONTENT_SECURITY_POLICY } from './ui/routes.js'
export {
  buildClientBundle,
  readClientBundle,
  serveClientBundle,
  BUNDLE_PARTIAL,
  type BuiltBundle,
  type ClientBundleSource,
} from './ui/client-bundle.js'
export { checkTheme, formatThemeCheck, type ThemeCheckOptions, type ThemeCheckResult } from './ui/check-theme.js'
export {
  THEME_RULES,
  type ThemeProblem,
  type ThemeProblemLevel,
  type ThemeRule,
  type ThemeRuleCode,
} from './ui/rules.js'
export type { CustomSetting, CustomSettingType, CustomValue, ThemeManifest } from './ui/manifest.js'
