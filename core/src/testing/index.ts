/**
 * The test kit (`@parley/core/testing`): boot a real gateway in-process for a plugin's tests.
 */
export { createTestGateway, deleteRedisKeys, type TestGateway, type TestGatewayOptions } from './gateway.js'
export { createTempMysqlDatabase, type TempDatabase } from './mysql.js'
export { freePort } from './net.js'
export { pendingSchemaChanges } from './schema.js'
export { missingService, testServices } from './services.js'
export {
  startMockUpstream,
  type MockAnswer,
  type MockBehaviour,
  type MockFailure,
  type MockHangup,
  type MockRequest,
  type MockUpstream,
  type MockUpstreamOptions,
} from './mock-upstream.js'
export { captureLogs, type CapturedLogs } from './logs.js'
export {
  providerPlugin,
  scriptedProvider,
  type ScriptedCall,
  type ScriptedProvider,
  type ScriptedReply,
} from './scripted-provider.js'
export { headerAuth } from './header-auth.js'
export { fixtureAuth, ROOT } from './fixture-auth.js'
export { createChannel, createChatRoute, type ChannelFields } from './catalog.js'
export { usageRows, waitForRows, type UsageRow } from './usage.js'
export { post, readSse, sdk, statusOf, type TimedEvent } from './calls.js'
export { until } from './wait.js'
export { storageContract, type OpenedStorage, type StorageContractOptions } from './storage-contract.js'
export { XSS_HTML, XSS_KATEX, XSS_MARKDOWN } from './xss.js'
