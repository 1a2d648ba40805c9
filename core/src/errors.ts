/**
 * One catalogue of errors with stable codes (`PARLEY_ERR_<AREA>_<WHAT>`), an HTTP status and
 * the `type` a client sees in `{"error": {"type", "message"}}`. Codes are never reused for a
 * different meaning. Plugins build their own catalogue with `defineErrors`.
 */

export interface ParleyErrorOptions {
  /** Extra fields placed in the error envelope next to type and message (snake_case). */
  readonly details?: Record<string, unknown>
  readonly cause?: unknown
}

export class ParleyError extends Error {
  override readonly name = 'ParleyError'
  readonly code: string
  readonly statusCode: number
  readonly type: string
  readonly details: Record<string, unknown> | undefined

  constructor(code: string, statusCode: number, type: string, message: string, options: ParleyErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.statusCode = statusCode
    this.type = type
    this.details = options.details
  }
}

export interface ErrorSpec {
  readonly status: number
  readonly type: string
  /** A message, or a template whose `{name}` placeholders are filled from the arguments. */
  readonly message: string
}

export type ErrorFactory = (params?: Record<string, unknown>, options?: ParleyErrorOptions) => ParleyError

/**
 * @example
 * const errors = defineErrors({
 *   PARLEY_ERR_TICKETS_NOT_FOUND: { status: 404, type: 'not_found', message: 'Ticket {id} does not exist' },
 * })
 * throw errors.PARLEY_ERR_TICKETS_NOT_FOUND({ id })
 */
export function defineErrors<K extends string>(specs: Record<K, ErrorSpec>): Record<K, ErrorFactory> {
  const factories = {} as Record<K, ErrorFactory>
  for (const code of Object.keys(specs) as K[]) {
    if (!/^PARLEY_ERR_[A-Z0-9]+(_[A-Z0-9]+)+$/.test(code)) {
      throw new TypeError(`error code ${code} does not match PARLEY_ERR_<AREA>_<WHAT>`)
    }
    const spec = specs[code]
    factories[code] = (params = {}, options) =>
      new ParleyError(code, spec.status, spec.type, fill(spec.message, params), options)
  }
  return Object.freeze(factories)
}

function fill(template: string, params: Record<string, unknown>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) =>
    key in params ? String(params[key]) : whole,
  )
}

/** The kernel's own errors. */
export const errors = defineErrors({
  PARLEY_ERR_CONFIG_INVALID: { status: 500, type: 'config_error', message: 'Invalid configuration:\n{problems}' },
  PARLEY_ERR_CONFIG_FILE: { status: 500, type: 'config_error', message: 'Cannot read config file {file}: {reason}' },
  PARLEY_ERR_CONFIG_SECRETS: { status: 500, type: 'config_error', message: '{reason}' },
  PARLEY_ERR_SECRET_UNREADABLE: { status: 500, type: 'internal_error', message: 'A stored secret cannot be opened: {reason}' },
  PARLEY_ERR_SECRET_UNKNOWN_KEY: { status: 500, type: 'internal_error', message: 'A stored secret was sealed with encryption key {keyId}, which is not configured (current key: {current}); put that key in ENCRYPTION_KEY_PREVIOUS, re-encrypt, then remove it' },
  PARLEY_ERR_PLUGIN_INVALID: { status: 500, type: 'plugin_error', message: 'Plugin {plugin}: {reason}' },
  PARLEY_ERR_PLUGIN_ID: { status: 500, type: 'plugin_error', message: 'Plugin id "{plugin}" is invalid: ids are kebab-case (a-z, 0-9, dashes), 2 to 50 characters' },
  PARLEY_ERR_PLUGIN_DUPLICATE: { status: 500, type: 'plugin_error', message: 'Plugin {plugin} is listed twice' },
  PARLEY_ERR_PLUGIN_MISSING_DEPENDENCY: { status: 500, type: 'plugin_error', message: 'Plugin {plugin} requires plugin {dependency}, which is not in the configuration' },
  PARLEY_ERR_PLUGIN_CYCLE: { status: 500, type: 'plugin_error', message: 'Plugins depend on each other in a cycle: {cycle}' },
  PARLEY_ERR_PLUGIN_CORE_VERSION: { status: 500, type: 'plugin_error', message: 'Plugin {plugin} needs @parley/core {range}, this is {version}' },
  PARLEY_ERR_PLUGIN_OPTIONS: { status: 500, type: 'plugin_error', message: 'Plugin {plugin} has invalid options:\n{problems}' },
  PARLEY_ERR_PLUGIN_LOAD: { status: 500, type: 'plugin_error', message: 'Plugin module {module} could not be loaded: {reason}' },
  PARLEY_ERR_PLUGIN_SETUP: { status: 500, type: 'plugin_error', message: 'Plugin {plugin} failed during setup: {reason}' },
  PARLEY_ERR_REGISTRY_DUPLICATE: { status: 500, type: 'plugin_error', message: '{registry} "{id}" of {plugin} is already registered by {owner}' },
  PARLEY_ERR_REGISTRY_CONFLICT: { status: 500, type: 'plugin_error', message: '{registry} "{id}" of {plugin} has the {what} "{value}" of {registry} "{other}" of {owner}' },
  PARLEY_ERR_REGISTRY_CLOSED: { status: 500, type: 'plugin_error', message: '{registry} can only be registered during plugin setup' },
  PARLEY_ERR_STORAGE_KEY: { status: 400, type: 'invalid_request', message: 'Storage key {key} is refused: {reason}' },
  PARLEY_ERR_STORAGE_OPTIONS: { status: 400, type: 'invalid_request', message: 'Object storage: {reason}' },
  PARLEY_ERR_STORAGE_DRIVER: { status: 500, type: 'config_error', message: 'storage.driver: {reason}' },
  PARLEY_ERR_STORAGE_UNAVAILABLE: { status: 503, type: 'service_unavailable', message: 'Object storage is not available: {reason}' },
  PARLEY_ERR_STORAGE_FAILED: { status: 502, type: 'storage_error', message: 'Object storage failed: {reason}' },
  PARLEY_ERR_JOB_DUPLICATE: { status: 500, type: 'job_error', message: 'Job "{name}" is already defined' },
  PARLEY_ERR_JOB_UNKNOWN: { status: 500, type: 'job_error', message: 'Job "{name}" is not defined' },
  PARLEY_ERR_JOB_STARTED: { status: 500, type: 'job_error', message: 'Job "{name}" must be defined before the queue starts' },
  PARLEY_ERR_JOB_CLOSED: { status: 500, type: 'job_error', message: 'The job queue is closed' },
  PARLEY_ERR_JOB_INVALID: { status: 500, type: 'job_error', message: 'Job "{name}": {reason}' },
  PARLEY_ERR_JOB_NOT_FOUND: { status: 404, type: 'not_found', message: 'No background job is named "{name}"' },
  PARLEY_ERR_JOB_RUN_NOT_FOUND: { status: 404, type: 'not_found', message: 'Job run {id} does not exist; finished runs are kept for a limited time' },
  PARLEY_ERR_JOB_RUN_NOT_FAILED: { status: 409, type: 'job_run_not_failed', message: 'Job run {id} is {state}; only a failed run can be retried' },
  PARLEY_ERR_DB_UNREACHABLE: { status: 503, type: 'service_unavailable', message: 'Database not reachable after {seconds} s: {reason}' },
  PARLEY_ERR_DB_UNAVAILABLE: { status: 503, type: 'service_unavailable', message: 'The database is not available right now; try again shortly' },
  PARLEY_ERR_DB_MIGRATION: { status: 500, type: 'migration_error', message: 'Migration {name} failed: {reason}' },
  PARLEY_ERR_SETTING_UNKNOWN: { status: 400, type: 'invalid_request', message: 'Unknown setting "{key}"' },
  PARLEY_ERR_SETTING_INVALID: { status: 400, type: 'invalid_request', message: 'Setting "{key}" = {value}: {expected}' },
  PARLEY_ERR_SETTING_DUPLICATE: { status: 500, type: 'plugin_error', message: 'Setting "{key}" is already declared' },
  PARLEY_ERR_UPSTREAM_URL_INVALID: { status: 400, type: 'invalid_request', message: 'Base URL is not usable: {reason}' },
  PARLEY_ERR_UPSTREAM_ADDRESS_FORBIDDEN: { status: 400, type: 'invalid_request', message: 'Base URL host {host} is refused ({reason} address){hint}' },
  PARLEY_ERR_UPSTREAM_CONNECT_FORBIDDEN: { status: 502, type: 'upstream_error', message: 'Upstream host {host} was refused at connect time ({reason} address)' },
  PARLEY_ERR_AUTH_REQUIRED: { status: 401, type: 'unauthorized', message: 'Sign in first: send Authorization: Bearer <token>' },
  PARLEY_ERR_AUTH_SESSION_REQUIRED: { status: 401, type: 'unauthorized', message: 'This needs a signed-in session; API tokens are not accepted here' },
  PARLEY_ERR_AUTH_FORBIDDEN: { status: 403, type: 'forbidden', message: 'Your role does not allow this' },
  PARLEY_ERR_CATALOG_CHANNEL_NOT_FOUND: { status: 404, type: 'not_found', message: 'Channel {id} does not exist' },
  PARLEY_ERR_CATALOG_CHANNEL_NAME_TAKEN: { status: 409, type: 'channel_name_taken', message: 'A channel named {name} already exists' },
  PARLEY_ERR_CATALOG_CHANNEL_ROUTED: { status: 409, type: 'channel_in_use', message: 'Chat routes of group(s) {groups} use this channel; move them first' },
  PARLEY_ERR_CATALOG_PROVIDER_UNKNOWN: { status: 400, type: 'unknown_provider', message: 'Provider {provider} is not installed (installed: {known})' },
  PARLEY_ERR_CATALOG_KEY_NOT_FOUND: { status: 400, type: 'invalid_request', message: 'Key {id} does not belong to this channel' },
  PARLEY_ERR_CATALOG_MODEL_TWICE: { status: 400, type: 'invalid_request', message: 'Model {model} is listed twice' },
  PARLEY_ERR_CATALOG_SETTINGS_INVALID: { status: 400, type: 'invalid_request', message: 'Channel settings are not valid for this provider: {problems}' },
  PARLEY_ERR_CATALOG_SETTING_SECRET: { status: 400, type: 'invalid_request', message: 'Setting {key} holds a secret and must be a string' },
  PARLEY_ERR_CATALOG_MODEL_NOT_FOUND: { status: 404, type: 'not_found', message: 'Model {name} is not in the catalog' },
  PARLEY_ERR_CATALOG_MODEL_EXISTS: { status: 409, type: 'model_exists', message: 'Model {name} is already in the catalog' },
  PARLEY_ERR_CATALOG_MODEL_BOUND: { status: 409, type: 'model_in_use', message: 'Channel(s) {channels} still serve model {name}' },
  PARLEY_ERR_CATALOG_ROUTE_CHANNEL_MISSING: { status: 400, type: 'channel_not_found', message: 'Channel {id} does not exist' },
  PARLEY_ERR_CATALOG_ROUTE_CHANNEL_DISABLED: { status: 400, type: 'channel_disabled', message: 'Channel {name} is disabled; enable it before routing chat traffic to it' },
  PARLEY_ERR_CATALOG_ROUTE_GROUP_NOT_SERVED: { status: 400, type: 'channel_group_mismatch', message: 'Channel {name} does not serve group {group}; add the group to the channel first' },
  PARLEY_ERR_CATALOG_ROUTE_NOT_FOUND: { status: 404, type: 'not_found', message: 'Group {group} has no chat route' },
  PARLEY_ERR_CATALOG_TEST_NO_MODEL: { status: 400, type: 'invalid_request', message: 'The channel serves no model yet; name one to test with: {"model": "..."}' },
  PARLEY_ERR_ROUTE_MODEL_UNKNOWN: { status: 404, type: 'model_not_found', message: 'The model {model} does not exist or you do not have access to it' },
  PARLEY_ERR_ROUTE_NO_CHANNEL: { status: 404, type: 'model_not_found', message: 'No channel serves model {model} for your group' },
  PARLEY_ERR_ROUTE_MODEL_NOT_ON_CHAT_CHANNEL: { status: 400, type: 'model_not_on_chat_channel', message: 'The chat channel {channel} of your group does not serve model {model}' },
  PARLEY_ERR_ROUTE_MODEL_FORBIDDEN: { status: 403, type: 'model_not_allowed', message: 'Your group may not use model {model}' },
  PARLEY_ERR_ROUTE_LISTING_OFF: { status: 404, type: 'not_found', message: 'Model listing is off: this gateway forwards any model name (model_passthrough)' },
  PARLEY_ERR_ROUTE_CHAT_CHANNEL_DOWN: { status: 503, type: 'upstream_error', message: 'The chat channel of group {group} is not available' },
  PARLEY_ERR_LIMIT_EXCEEDED: { status: 429, type: 'rate_limit_exceeded', message: 'Too many requests: {reason}' },
  PARLEY_ERR_LIMIT_CHANNELS_BUSY: { status: 429, type: 'rate_limit_exceeded', message: 'Every channel serving this model is at its rate limit; retry shortly' },
  PARLEY_ERR_UPSTREAM_TIMEOUT: { status: 504, type: 'upstream_error', message: 'The upstream {phase}' },
  PARLEY_ERR_UPSTREAM_UNREACHABLE: { status: 502, type: 'upstream_error', message: 'The upstream could not be reached' },
  PARLEY_ERR_UPSTREAM_CREDENTIALS: { status: 502, type: 'upstream_error', message: "The upstream refused this channel's credentials" },
  PARLEY_ERR_UPSTREAM_BUSY: { status: 503, type: 'upstream_error', message: 'The upstream is at its rate limit; retry shortly' },
  PARLEY_ERR_UPSTREAM_FAILED: { status: 502, type: 'upstream_error', message: 'The upstream failed (HTTP {status})' },
  PARLEY_ERR_UPSTREAM_BAD_ANSWER: { status: 502, type: 'upstream_error', message: 'The upstream sent an answer that is not valid' },
  PARLEY_ERR_UPSTREAM_EVENT_TOO_LARGE: { status: 502, type: 'upstream_error', message: 'The upstream sent a stream event larger than {limit} bytes; the answer was cut off there' },
  PARLEY_ERR_UPSTREAM_NO_PROVIDER: { status: 503, type: 'upstream_error', message: 'No installed provider can serve model {model}' },
  PARLEY_ERR_CHAT_GUEST_API: { status: 401, type: 'unauthorized', message: 'The API needs a token: send Authorization: Bearer <token>' },
  PARLEY_ERR_BLOCKED_IP: { status: 403, type: 'ip_blocked', message: 'Requests from your address are blocked' },
  PARLEY_ERR_BLOCKLIST_RULE_INVALID: { status: 400, type: 'invalid_request', message: 'ip_address must be an IPv4 or IPv6 address or a CIDR range such as 203.0.113.0/24 or 2001:db8::/32 (a /0 range would block everyone)' },
  PARLEY_ERR_BLOCKLIST_RULE_EXISTS: { status: 409, type: 'blocked_ip_exists', message: '{rule} is already blocked' },
  PARLEY_ERR_BLOCKLIST_NOT_FOUND: { status: 404, type: 'not_found', message: 'Blocked IP rule {id} does not exist' },
  PARLEY_ERR_THEME_NOT_FOUND: { status: 500, type: 'config_error', message: 'Theme "{theme}" is not in {dir} (see theme and themes_dir in the configuration)' },
  PARLEY_ERR_THEME_INVALID: { status: 500, type: 'config_error', message: 'Templates of {owner} cannot be used:\n{problems}' },
  PARLEY_ERR_THEME_TEMPLATE_MISSING: { status: 500, type: 'plugin_error', message: 'Page {path} of plugin {plugin} uses template "{template}", found neither in theme {theme} (pages/{template}.hbs) nor in {dir}' },
  PARLEY_ERR_THEME_PAGE_UNKNOWN: { status: 500, type: 'internal_error', message: 'No page template "{template}" was loaded at start' },
  PARLEY_ERR_THEME_SETTING: { status: 500, type: 'config_error', message: 'Theme setting {key}: {reason}' },
  PARLEY_ERR_UI_BUNDLE_MISSING: { status: 500, type: 'plugin_error', message: 'The front-end bundle of plugin {plugin} is missing in {dir}: run `npm run build` (tests build it themselves)' },
  PARLEY_ERR_UI_SECTION_PATH: { status: 500, type: 'plugin_error', message: 'Console section {id} of plugin {plugin} has path {path}: it must start with /admin/ and use a-z, 0-9, -, _ and /' },
  PARLEY_ERR_HTTP_NOT_FOUND: { status: 404, type: 'not_found', message: 'Route {method} {path} not found' },
  PARLEY_ERR_HTTP_BAD_JSON: { status: 400, type: 'invalid_json', message: 'Request body is not valid JSON: {reason}' },
  PARLEY_ERR_HTTP_TOO_DEEP: { status: 400, type: 'invalid_json', message: 'Request body nests deeper than {max} levels' },
  PARLEY_ERR_HTTP_VALIDATION: { status: 400, type: 'invalid_request', message: '{reason}' },
  PARLEY_ERR_HTTP_TOO_LARGE: { status: 413, type: 'payload_too_large', message: 'Request body is larger than the limit of {limit} bytes' },
  PARLEY_ERR_HTTP_MEDIA_TYPE: { status: 415, type: 'unsupported_media_type', message: 'Content-Type {contentType} is not supported here' },
  PARLEY_ERR_HTTP_CLIENT: { status: 400, type: 'invalid_request', message: '{reason}' },
  PARLEY_ERR_HTTP_METRICS_TOKEN: { status: 401, type: 'unauthorized', message: 'Metrics need the configured bearer token' },
  PARLEY_ERR_HTTP_METRICS_FORBIDDEN: { status: 403, type: 'forbidden', message: 'Metrics are served to the addresses of server.metrics.allow only' },
  PARLEY_ERR_HTTP_INTERNAL: { status: 500, type: 'internal_error', message: 'Internal server error (request id {requestId})' },
  PARLEY_ERR_HTTP_UNAVAILABLE: { status: 503, type: 'service_unavailable', message: '{reason}' },
  PARLEY_ERR_HTTP_SHUTTING_DOWN: { status: 503, type: 'service_unavailable', message: 'The server is shutting down; retry on another instance' },
})
