/**
 * One catalogue of errors with stable codes (`PARLEY_ERR_<AREA>_<WHAT>`), an HTTP status and
 * the `type` a client sees in `{"error": {"type", "message"}}`. Codes are never reused for a
 * different meaning. Plugins build their own catalogue with `defineErrors`.
 *
 * Messages are English; a spec's `zh` gives the Simplified Chinese one, which the error
 * envelope answers to callers whose `Accept-Language` prefers Chinese (`languageOf`).
 */

import type { Language } from './i18n.js'

export interface ParleyErrorOptions {
  /** Extra fields placed in the error envelope next to type and message (snake_case). */
  readonly details?: Record<string, unknown>
  readonly cause?: unknown
  /** The message in Simplified Chinese, for callers who read Chinese; English for them too without it. */
  readonly messageZh?: string
}

export class ParleyError extends Error {
  override readonly name = 'ParleyError'
  readonly code: string
  readonly statusCode: number
  readonly type: string
  readonly details: Record<string, unknown> | undefined
  /** The Simplified Chinese message, when the error has one; `message` (logs, CLI) stays English. */
  readonly messageZh: string | undefined

  constructor(code: string, statusCode: number, type: string, message: string, options: ParleyErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.statusCode = statusCode
    this.type = type
    this.details = options.details
    this.messageZh = options.messageZh
  }

  /** The message a caller reading `language` sees: the Chinese one for zh-CN when there is one, else English. */
  localized(language: Language): string {
    return language === 'zh-CN' && this.messageZh !== undefined ? this.messageZh : this.message
  }
}

export interface ErrorSpec {
  readonly status: number
  readonly type: string
  /** A message, or a template whose `{name}` placeholders are filled from the arguments. */
  readonly message: string
  /**
   * The same message in Simplified Chinese, with exactly the placeholders of `message`.
   * Optional for plugins (their callers then read English); every kernel code has one.
   */
  readonly zh?: string
}

export interface ErrorFactoryOptions extends Omit<ParleyErrorOptions, 'messageZh'> {
  /**
   * This error's HTTP status instead of the spec's, for a code whose status comes from
   * elsewhere (PARLEY_ERR_UPSTREAM_REFUSED passes on the upstream's 4xx). Only 400 to 599 is
   * taken; anything else keeps the spec's status.
   */
  readonly status?: number
  /** This error's `type` instead of the spec's, for the same kind of code (an upstream's own type). */
  readonly type?: string
}

export type ErrorFactory = (params?: Record<string, unknown>, options?: ErrorFactoryOptions) => ParleyError

/**
 * @example
 * const errors = defineErrors({
 *   PARLEY_ERR_TICKETS_NOT_FOUND: { status: 404, type: 'not_found', message: 'Ticket {id} does not exist', zh: '工单 {id} 不存在' },
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
    const zh = spec.zh
    if (zh !== undefined && placeholdersOf(zh) !== placeholdersOf(spec.message)) {
      throw new TypeError(
        `error code ${code}: the zh message has the placeholders [${placeholdersOf(zh)}], the message [${placeholdersOf(spec.message)}]`,
      )
    }
    factories[code] = (params = {}, options = {}) => {
      const status =
        options.status !== undefined &&
        Number.isInteger(options.status) &&
        options.status >= 400 &&
        options.status <= 599
          ? options.status
          : spec.status
      return new ParleyError(code, status, options.type ?? spec.type, fill(spec.message, params), {
        ...(options.details === undefined ? {} : { details: options.details }),
        ...(options.cause === undefined ? {} : { cause: options.cause }),
        ...(zh === undefined ? {} : { messageZh: fill(zh, params) }),
      })
    }
  }
  return Object.freeze(factories)
}

const PLACEHOLDER = /\{(\w+)\}/g

function fill(template: string, params: Record<string, unknown>): string {
  return template.replace(PLACEHOLDER, (whole, key: string) => (key in params ? String(params[key]) : whole))
}

/** The distinct placeholder names of a template, sorted: `a,b`. */
function placeholdersOf(template: string): string {
  return [...new Set(Array.from(template.matchAll(PLACEHOLDER), match => match[1]))].sort().join(',')
}

/** The kernel's own errors, each with its Simplified Chinese message. */
export const KERNEL_ERROR_SPECS = {
  PARLEY_ERR_CONFIG_INVALID: {
    status: 500,
    type: 'config_error',
    message: 'Invalid configuration:\n{problems}',
    zh: '配置无效：\n{problems}',
  },
  PARLEY_ERR_CONFIG_FILE: {
    status: 500,
    type: 'config_error',
    message: 'Cannot read config file {file}: {reason}',
    zh: '无法读取配置文件 {file}：{reason}',
  },
  PARLEY_ERR_CONFIG_SECRETS: { status: 500, type: 'config_error', message: '{reason}', zh: '密钥配置有误：{reason}' },
  PARLEY_ERR_SECRET_UNREADABLE: {
    status: 500,
    type: 'internal_error',
    message: 'A stored secret cannot be opened: {reason}',
    zh: '无法解密已保存的密文：{reason}',
  },
  PARLEY_ERR_SECRET_UNKNOWN_KEY: {
    status: 500,
    type: 'internal_error',
    message:
      'A stored secret was sealed with encryption key {keyId}, which is not configured (current key: {current}); put that key in ENCRYPTION_KEY_PREVIOUS, re-encrypt, then remove it',
    zh: '已保存的密文由加密密钥 {keyId} 加密，但该密钥未配置（当前密钥：{current}）；请把该密钥填入 ENCRYPTION_KEY_PREVIOUS，重新加密后再将其移除',
  },
  PARLEY_ERR_PLUGIN_INVALID: {
    status: 500,
    type: 'plugin_error',
    message: 'Plugin {plugin}: {reason}',
    zh: '插件 {plugin}：{reason}',
  },
  PARLEY_ERR_PLUGIN_ID: {
    status: 500,
    type: 'plugin_error',
    message: 'Plugin id "{plugin}" is invalid: ids are kebab-case (a-z, 0-9, dashes), 2 to 50 characters',
    zh: '插件 ID "{plugin}" 无效：ID 须为 kebab-case（a-z、0-9 和短横线），长度为 2 到 50 个字符',
  },
  PARLEY_ERR_PLUGIN_DUPLICATE: {
    status: 500,
    type: 'plugin_error',
    message: 'Plugin {plugin} is listed twice',
    zh: '插件 {plugin} 被重复列出',
  },
  PARLEY_ERR_PLUGIN_MISSING_DEPENDENCY: {
    status: 500,
    type: 'plugin_error',
    message: 'Plugin {plugin} requires plugin {dependency}, which is not in the configuration',
    zh: '插件 {plugin} 依赖插件 {dependency}，但配置中没有该插件',
  },
  PARLEY_ERR_PLUGIN_CYCLE: {
    status: 500,
    type: 'plugin_error',
    message: 'Plugins depend on each other in a cycle: {cycle}',
    zh: '插件之间存在循环依赖：{cycle}',
  },
  PARLEY_ERR_PLUGIN_CORE_VERSION: {
    status: 500,
    type: 'plugin_error',
    message: 'Plugin {plugin} needs @parley/core {range}, this is {version}',
    zh: '插件 {plugin} 需要 @parley/core {range}，当前版本为 {version}',
  },
  PARLEY_ERR_PLUGIN_OPTIONS: {
    status: 500,
    type: 'plugin_error',
    message: 'Plugin {plugin} has invalid options:\n{problems}',
    zh: '插件 {plugin} 的选项无效：\n{problems}',
  },
  PARLEY_ERR_PLUGIN_LOAD: {
    status: 500,
    type: 'plugin_error',
    message: 'Plugin module {module} could not be loaded: {reason}',
    zh: '无法加载插件模块 {module}：{reason}',
  },
  PARLEY_ERR_PLUGIN_SETUP: {
    status: 500,
    type: 'plugin_error',
    message: 'Plugin {plugin} failed during setup: {reason}',
    zh: '插件 {plugin} 初始化失败：{reason}',
  },
  PARLEY_ERR_REGISTRY_DUPLICATE: {
    status: 500,
    type: 'plugin_error',
    message: '{registry} "{id}" of {plugin} is already registered by {owner}',
    zh: '{plugin} 的 {registry} "{id}" 已被 {owner} 注册',
  },
  PARLEY_ERR_REGISTRY_CONFLICT: {
    status: 500,
    type: 'plugin_error',
    message: '{registry} "{id}" of {plugin} has the {what} "{value}" of {registry} "{other}" of {owner}',
    zh: '{plugin} 的 {registry} "{id}" 与 {owner} 的 {registry} "{other}" 的 {what} 相同（"{value}"）',
  },
  PARLEY_ERR_REGISTRY_CLOSED: {
    status: 500,
    type: 'plugin_error',
    message: '{registry} can only be registered during plugin setup',
    zh: '{registry} 只能在插件 setup 期间注册',
  },
  PARLEY_ERR_STORAGE_KEY: {
    status: 400,
    type: 'invalid_request',
    message: 'Storage key {key} is refused: {reason}',
    zh: '存储键 {key} 被拒绝：{reason}',
  },
  PARLEY_ERR_STORAGE_OPTIONS: {
    status: 400,
    type: 'invalid_request',
    message: 'Object storage: {reason}',
    zh: '对象存储：{reason}',
  },
  PARLEY_ERR_STORAGE_DRIVER: {
    status: 500,
    type: 'config_error',
    message: 'storage.driver: {reason}',
    zh: '存储驱动 storage.driver 配置有误：{reason}',
  },
  PARLEY_ERR_STORAGE_UNAVAILABLE: {
    status: 503,
    type: 'service_unavailable',
    message: 'Object storage is not available: {reason}',
    zh: '对象存储不可用：{reason}',
  },
  PARLEY_ERR_STORAGE_FAILED: {
    status: 502,
    type: 'storage_error',
    message: 'Object storage failed: {reason}',
    zh: '对象存储操作失败：{reason}',
  },
  PARLEY_ERR_OBJECT_NOT_FOUND: {
    status: 404,
    type: 'not_found',
    message: 'Stored object {key} was not found',
    zh: '未找到存储的对象 {key}',
  },
  PARLEY_ERR_OBJECT_REF: {
    status: 400,
    type: 'invalid_request',
    message: 'Image {ref} cannot be used: {reason}',
    zh: '图片 {ref} 无法使用：{reason}',
  },
  PARLEY_ERR_JOB_DUPLICATE: {
    status: 500,
    type: 'job_error',
    message: 'Job "{name}" is already defined',
    zh: '任务 "{name}" 已定义',
  },
  PARLEY_ERR_JOB_UNKNOWN: {
    status: 500,
    type: 'job_error',
    message: 'Job "{name}" is not defined',
    zh: '任务 "{name}" 未定义',
  },
  PARLEY_ERR_JOB_STARTED: {
    status: 500,
    type: 'job_error',
    message: 'Job "{name}" must be defined before the queue starts',
    zh: '任务 "{name}" 必须在任务队列启动前定义',
  },
  PARLEY_ERR_JOB_CLOSED: { status: 500, type: 'job_error', message: 'The job queue is closed', zh: '任务队列已关闭' },
  PARLEY_ERR_JOB_INVALID: {
    status: 500,
    type: 'job_error',
    message: 'Job "{name}": {reason}',
    zh: '任务 "{name}"：{reason}',
  },
  PARLEY_ERR_JOB_NOT_FOUND: {
    status: 404,
    type: 'not_found',
    message: 'No background job is named "{name}"',
    zh: '不存在名为 "{name}" 的后台任务',
  },
  PARLEY_ERR_JOB_RUN_NOT_FOUND: {
    status: 404,
    type: 'not_found',
    message: 'Job run {id} does not exist; finished runs are kept for a limited time',
    zh: '任务运行记录 {id} 不存在；已结束的运行记录只保留一段时间',
  },
  PARLEY_ERR_JOB_RUN_NOT_FAILED: {
    status: 409,
    type: 'job_run_not_failed',
    message: 'Job run {id} is {state}; only a failed run can be retried',
    zh: '任务运行记录 {id} 的状态为 {state}；只有失败的运行才能重试',
  },
  PARLEY_ERR_DB_UNREACHABLE: {
    status: 503,
    type: 'service_unavailable',
    message: 'Database not reachable after {seconds} s: {reason}',
    zh: '{seconds} 秒后仍无法连接数据库：{reason}',
  },
  PARLEY_ERR_DB_UNAVAILABLE: {
    status: 503,
    type: 'service_unavailable',
    message: 'The database is not available right now; try again shortly',
    zh: '数据库暂时不可用，请稍后重试',
  },
  PARLEY_ERR_DB_MIGRATION: {
    status: 500,
    type: 'migration_error',
    message: 'Migration {name} failed: {reason}',
    zh: '数据库迁移 {name} 失败：{reason}',
  },
  PARLEY_ERR_SETTING_UNKNOWN: {
    status: 400,
    type: 'invalid_request',
    message: 'Unknown setting "{key}"',
    zh: '未知的设置项 "{key}"',
  },
  PARLEY_ERR_SETTING_INVALID: {
    status: 400,
    type: 'invalid_request',
    message: 'Setting "{key}" = {value}: {expected}',
    zh: '设置项 "{key}" = {value}：{expected}',
  },
  PARLEY_ERR_SETTING_DUPLICATE: {
    status: 500,
    type: 'plugin_error',
    message: 'Setting "{key}" is already declared',
    zh: '设置项 "{key}" 已被声明',
  },
  PARLEY_ERR_UPSTREAM_URL_INVALID: {
    status: 400,
    type: 'invalid_request',
    message: 'Base URL is not usable: {reason}',
    zh: 'Base URL 不可用：{reason}',
  },
  PARLEY_ERR_UPSTREAM_ADDRESS_FORBIDDEN: {
    status: 400,
    type: 'invalid_request',
    message: 'Base URL host {host} is refused ({reason} address){hint}',
    zh: 'Base URL 的主机 {host} 被拒绝（{reason} 地址）{hint}',
  },
  PARLEY_ERR_UPSTREAM_CONNECT_FORBIDDEN: {
    status: 502,
    type: 'upstream_error',
    message: 'Upstream host {host} was refused at connect time ({reason} address)',
    zh: '连接时拒绝了上游主机 {host}（{reason} 地址）',
  },
  PARLEY_ERR_AUTH_REQUIRED: {
    status: 401,
    type: 'unauthorized',
    message: 'Sign in first: send Authorization: Bearer <token>',
    zh: '请先登录：请求需携带 Authorization: Bearer <token>',
  },
  PARLEY_ERR_AUTH_SESSION_REQUIRED: {
    status: 401,
    type: 'unauthorized',
    message: 'This needs a signed-in session; API tokens are not accepted here',
    zh: '此操作需要登录会话，不接受 API 令牌',
  },
  PARLEY_ERR_AUTH_FORBIDDEN: {
    status: 403,
    type: 'forbidden',
    message: 'Your role does not allow this',
    zh: '您的角色无权执行此操作',
  },
  PARLEY_ERR_CATALOG_CHANNEL_NOT_FOUND: {
    status: 404,
    type: 'not_found',
    message: 'Channel {id} does not exist',
    zh: '渠道 {id} 不存在',
  },
  PARLEY_ERR_CATALOG_CHANNEL_NAME_TAKEN: {
    status: 409,
    type: 'channel_name_taken',
    message: 'A channel named {name} already exists',
    zh: '已存在名为 {name} 的渠道',
  },
  PARLEY_ERR_CATALOG_CHANNEL_ROUTED: {
    status: 409,
    type: 'channel_in_use',
    message: 'Chat routes of group(s) {groups} use this channel; move them first',
    zh: '分组 {groups} 的聊天路由正在使用此渠道，请先将这些路由改到其他渠道',
  },
  PARLEY_ERR_CATALOG_PROVIDER_UNKNOWN: {
    status: 400,
    type: 'unknown_provider',
    message: 'Provider {provider} is not installed (installed: {known})',
    zh: '未安装提供商 {provider}（已安装：{known}）',
  },
  PARLEY_ERR_CATALOG_KEY_NOT_FOUND: {
    status: 400,
    type: 'invalid_request',
    message: 'Key {id} does not belong to this channel',
    zh: '密钥 {id} 不属于此渠道',
  },
  PARLEY_ERR_CATALOG_MODEL_TWICE: {
    status: 400,
    type: 'invalid_request',
    message: 'Model {model} is listed twice',
    zh: '模型 {model} 被重复列出',
  },
  PARLEY_ERR_CATALOG_SETTINGS_INVALID: {
    status: 400,
    type: 'invalid_request',
    message: 'Channel settings are not valid for this provider: {problems}',
    zh: '渠道设置对此提供商无效：{problems}',
  },
  PARLEY_ERR_CATALOG_SETTING_SECRET: {
    status: 400,
    type: 'invalid_request',
    message: 'Setting {key} holds a secret and must be a string',
    zh: '设置项 {key} 存放的是密钥，必须为字符串',
  },
  PARLEY_ERR_CATALOG_MODEL_NOT_FOUND: {
    status: 404,
    type: 'not_found',
    message: 'Model {name} is not in the catalog',
    zh: '模型目录中没有模型 {name}',
  },
  PARLEY_ERR_CATALOG_MODEL_EXISTS: {
    status: 409,
    type: 'model_exists',
    message: 'Model {name} is already in the catalog',
    zh: '模型 {name} 已在模型目录中',
  },
  PARLEY_ERR_CATALOG_MODEL_BOUND: {
    status: 409,
    type: 'model_in_use',
    message: 'Channel(s) {channels} still serve model {name}',
    zh: '渠道 {channels} 仍在提供模型 {name}',
  },
  PARLEY_ERR_CATALOG_ROUTE_CHANNEL_MISSING: {
    status: 400,
    type: 'channel_not_found',
    message: 'Channel {id} does not exist',
    zh: '渠道 {id} 不存在',
  },
  PARLEY_ERR_CATALOG_ROUTE_CHANNEL_DISABLED: {
    status: 400,
    type: 'channel_disabled',
    message: 'Channel {name} is disabled; enable it before routing chat traffic to it',
    zh: '渠道 {name} 已停用；请先启用，再把聊天流量路由到该渠道',
  },
  PARLEY_ERR_CATALOG_ROUTE_GROUP_NOT_SERVED: {
    status: 400,
    type: 'channel_group_mismatch',
    message: 'Channel {name} does not serve group {group}; add the group to the channel first',
    zh: '渠道 {name} 不服务分组 {group}；请先把该分组添加到渠道',
  },
  PARLEY_ERR_CATALOG_ROUTE_NOT_FOUND: {
    status: 404,
    type: 'not_found',
    message: 'Group {group} has no chat route',
    zh: '分组 {group} 没有聊天路由',
  },
  PARLEY_ERR_CATALOG_TEST_NO_MODEL: {
    status: 400,
    type: 'invalid_request',
    message: 'The channel serves no model yet; name one to test with: {"model": "..."}',
    zh: '该渠道尚未提供任何模型；请指定一个用于测试的模型：{"model": "..."}',
  },
  PARLEY_ERR_CATALOG_MODELS_UNSUPPORTED: {
    status: 400,
    type: 'invalid_request',
    message: "Provider {provider} cannot list its upstream's models; type the model names instead",
    zh: '提供商 {provider} 无法列出上游的模型；请手动填写模型名称',
  },
  PARLEY_ERR_CATALOG_MODELS_FETCH_FAILED: {
    status: 502,
    type: 'upstream_error',
    message: "The upstream's model list could not be fetched: {reason}",
    zh: '无法获取上游的模型列表：{reason}',
  },
  PARLEY_ERR_CATALOG_HEADER_RESERVED: {
    status: 400,
    type: 'invalid_request',
    message:
      'Header {name} cannot be set per channel: the gateway sets it (credentials, connection and framing headers)',
    zh: '不能为渠道设置请求头 {name}：它由网关设置（凭据、连接和分帧相关的请求头）',
  },
  PARLEY_ERR_ROUTE_MODEL_UNKNOWN: {
    status: 404,
    type: 'model_not_found',
    message: 'The model {model} does not exist or you do not have access to it',
    zh: '模型 {model} 不存在，或您无权访问',
  },
  PARLEY_ERR_ROUTE_NO_CHANNEL: {
    status: 404,
    type: 'model_not_found',
    message: 'No channel serves model {model} for your group',
    zh: '没有渠道为您所在的分组提供模型 {model}',
  },
  PARLEY_ERR_ROUTE_MODEL_NOT_ON_CHAT_CHANNEL: {
    status: 400,
    type: 'model_not_on_chat_channel',
    message: 'The chat channel {channel} of your group does not serve model {model}',
    zh: '您所在分组的聊天渠道 {channel} 不提供模型 {model}',
  },
  PARLEY_ERR_ROUTE_MODEL_FORBIDDEN: {
    status: 403,
    type: 'model_not_allowed',
    message: 'Your group may not use model {model}',
    zh: '你所在的分组无权使用模型 {model}',
  },
  PARLEY_ERR_ROUTE_TOKEN_MODEL_FORBIDDEN: {
    status: 403,
    type: 'model_not_allowed',
    message: 'This API token may not use model {model}',
    zh: '此 API 令牌无权使用模型 {model}',
  },
  PARLEY_ERR_ROUTE_LISTING_OFF: {
    status: 404,
    type: 'not_found',
    message: 'Model listing is off: this gateway forwards any model name (model_passthrough)',
    zh: '模型列表已关闭：此网关会转发任意模型名称（model_passthrough）',
  },
  PARLEY_ERR_ROUTE_CHAT_CHANNEL_DOWN: {
    status: 503,
    type: 'upstream_error',
    message: 'The chat channel of group {group} is not available',
    zh: '分组 {group} 的聊天渠道不可用',
  },
  PARLEY_ERR_LIMIT_EXCEEDED: {
    status: 429,
    type: 'rate_limit_exceeded',
    message: 'Too many requests: {reason}',
    zh: '请求过于频繁：{reason}',
  },
  PARLEY_ERR_LIMIT_CHANNELS_BUSY: {
    status: 429,
    type: 'rate_limit_exceeded',
    message: 'Every channel serving this model is at its rate limit; retry shortly',
    zh: '此模型的所有渠道都已达到速率限制，请稍后重试',
  },
  PARLEY_ERR_UPSTREAM_TIMEOUT: {
    status: 504,
    type: 'upstream_error',
    message: 'The upstream {phase}',
    zh: '上游响应超时：{phase}',
  },
  PARLEY_ERR_UPSTREAM_UNREACHABLE: {
    status: 502,
    type: 'upstream_error',
    message: 'The upstream could not be reached',
    zh: '无法连接上游服务',
  },
  PARLEY_ERR_UPSTREAM_CREDENTIALS: {
    status: 502,
    type: 'upstream_error',
    message: "The upstream refused this channel's credentials",
    zh: '上游拒绝了此渠道的凭据',
  },
  PARLEY_ERR_UPSTREAM_BUSY: {
    status: 503,
    type: 'upstream_error',
    message: 'The upstream is at its rate limit; retry shortly',
    zh: '上游已达到速率限制，请稍后重试',
  },
  PARLEY_ERR_UPSTREAM_FAILED: {
    status: 502,
    type: 'upstream_error',
    message: 'The upstream answered with a server error (HTTP {status}); retry later',
    zh: '上游服务器出错（HTTP {status}），请稍后重试',
  },
  PARLEY_ERR_UPSTREAM_BAD_ANSWER: {
    status: 502,
    type: 'upstream_error',
    message: 'The upstream sent an answer that is not valid',
    zh: '上游返回的响应无效',
  },
  PARLEY_ERR_UPSTREAM_EVENT_TOO_LARGE: {
    status: 502,
    type: 'upstream_error',
    message: 'The upstream sent a stream event larger than {limit} bytes; the answer was cut off there',
    zh: '上游发送的流式事件超过 {limit} 字节，回答在此处被截断',
  },
  PARLEY_ERR_UPSTREAM_BROKE_OFF: {
    status: 502,
    type: 'upstream_error',
    message: 'The upstream broke off mid-answer',
    zh: '上游在回答途中断开了连接',
  },
  PARLEY_ERR_UPSTREAM_CONNECTION_LOST: {
    status: 502,
    type: 'upstream_error',
    message: 'The connection to the upstream broke before it answered',
    zh: '与上游的连接在其回答之前中断了',
  },
  PARLEY_ERR_UPSTREAM_ENDED_EARLY: {
    status: 502,
    type: 'upstream_error',
    message: 'The upstream ended the answer early',
    zh: '上游提前结束了回答',
  },
  // A provider's own words about an error after the answer began (its message, secrets cut out).
  PARLEY_ERR_UPSTREAM_STREAM_ERROR: {
    status: 502,
    type: 'upstream_error',
    message: '{message}',
    zh: '上游出错：{message}',
  },
  // Status and type are the upstream's for each instance: pass `{ status, type }` in the options.
  PARLEY_ERR_UPSTREAM_REFUSED: {
    status: 400,
    type: 'invalid_request_error',
    message: '{message}',
    zh: '上游拒绝了请求：{message}',
  },
  PARLEY_ERR_UPSTREAM_NO_PROVIDER: {
    status: 503,
    type: 'upstream_error',
    message: 'No installed provider can serve model {model}',
    zh: '没有已安装的提供商能够提供模型 {model}',
  },
  PARLEY_ERR_CHAT_MODEL_CONFIG_NOT_FOUND: {
    status: 404,
    type: 'model_config_not_found',
    message: 'You have no personal model config {id}',
    zh: '您没有编号为 {id} 的个人模型配置',
  },
  PARLEY_ERR_CHAT_GUEST_API: {
    status: 401,
    type: 'unauthorized',
    message: 'The API needs a token: send Authorization: Bearer <token>',
    zh: 'API 需要令牌：请发送 Authorization: Bearer <token>',
  },
  PARLEY_ERR_BLOCKED_IP: {
    status: 403,
    type: 'ip_blocked',
    message: 'Requests from your address are blocked',
    zh: '来自您所在地址的请求已被封禁',
  },
  PARLEY_ERR_BLOCKLIST_RULE_INVALID: {
    status: 400,
    type: 'invalid_request',
    message:
      'ip_address must be an IPv4 or IPv6 address or a CIDR range such as 203.0.113.0/24 or 2001:db8::/32 (a /0 range would block everyone)',
    zh: 'ip_address 必须是 IPv4 或 IPv6 地址，或 CIDR 网段，例如 203.0.113.0/24 或 2001:db8::/32（/0 网段会封禁所有人）',
  },
  PARLEY_ERR_BLOCKLIST_RULE_EXISTS: {
    status: 409,
    type: 'blocked_ip_exists',
    message: '{rule} is already blocked',
    zh: '{rule} 已被封禁',
  },
  PARLEY_ERR_BLOCKLIST_NOT_FOUND: {
    status: 404,
    type: 'not_found',
    message: 'Blocked IP rule {id} does not exist',
    zh: 'IP 封禁规则 {id} 不存在',
  },
  PARLEY_ERR_THEME_NOT_FOUND: {
    status: 500,
    type: 'config_error',
    message: 'Theme "{theme}" is not in {dir} (see theme and themes_dir in the configuration)',
    zh: '{dir} 中没有主题 "{theme}"（请检查配置中的 theme 和 themes_dir）',
  },
  PARLEY_ERR_THEME_INVALID: {
    status: 500,
    type: 'config_error',
    message: 'Templates of {owner} cannot be used:\n{problems}',
    zh: '{owner} 的模板无法使用：\n{problems}',
  },
  PARLEY_ERR_THEME_TEMPLATE_MISSING: {
    status: 500,
    type: 'plugin_error',
    message:
      'Page {path} of plugin {plugin} uses template "{template}", found neither in theme {theme} (pages/{template}.hbs) nor in {dir}',
    zh: '插件 {plugin} 的页面 {path} 使用模板 "{template}"，但主题 {theme}（pages/{template}.hbs）和 {dir} 中都没有该模板',
  },
  PARLEY_ERR_THEME_PAGE_UNKNOWN: {
    status: 500,
    type: 'internal_error',
    message: 'No page template "{template}" was loaded at start',
    zh: '启动时没有加载页面模板 "{template}"',
  },
  PARLEY_ERR_THEME_SETTING: {
    status: 500,
    type: 'config_error',
    message: 'Theme setting {key}: {reason}',
    zh: '主题设置 {key}：{reason}',
  },
  PARLEY_ERR_UI_BUNDLE_MISSING: {
    status: 500,
    type: 'plugin_error',
    message:
      'The front-end bundle of plugin {plugin} is missing in {dir}: run `npm run build` (tests build it themselves)',
    zh: '{dir} 中缺少插件 {plugin} 的前端构建产物：请运行 `npm run build`（测试会自行构建）',
  },
  PARLEY_ERR_UI_SECTION_PATH: {
    status: 500,
    type: 'plugin_error',
    message:
      'Console section {id} of plugin {plugin} has path {path}: it must start with /admin/ and use a-z, 0-9, -, _ and /',
    zh: '插件 {plugin} 的控制台栏目 {id} 的路径为 {path}：路径必须以 /admin/ 开头，且只能包含 a-z、0-9、-、_ 和 /',
  },
  PARLEY_ERR_HTTP_NOT_FOUND: {
    status: 404,
    type: 'not_found',
    message: 'Route {method} {path} not found',
    zh: '路由 {method} {path} 不存在',
  },
  PARLEY_ERR_HTTP_BAD_JSON: {
    status: 400,
    type: 'invalid_json',
    message: 'Request body is not valid JSON: {reason}',
    zh: '请求体不是有效的 JSON：{reason}',
  },
  PARLEY_ERR_HTTP_TOO_DEEP: {
    status: 400,
    type: 'invalid_json',
    message: 'Request body nests deeper than {max} levels',
    zh: '请求体的嵌套超过 {max} 层',
  },
  PARLEY_ERR_HTTP_NUL: {
    status: 400,
    type: 'invalid_request',
    message: 'The request holds a NUL character (in the {where}); no text here may contain one',
    zh: '请求（{where}）中含有 NUL 字符，这里的文本都不能包含它',
  },
  PARLEY_ERR_HTTP_VALIDATION: {
    status: 400,
    type: 'invalid_request',
    message: '{reason}',
    zh: '请求参数无效：{reason}',
  },
  PARLEY_ERR_HTTP_TOO_LARGE: {
    status: 413,
    type: 'payload_too_large',
    message: 'Request body is larger than the limit of {limit} bytes',
    zh: '请求体超过了 {limit} 字节的上限',
  },
  PARLEY_ERR_HTTP_MEDIA_TYPE: {
    status: 415,
    type: 'unsupported_media_type',
    message: 'Content-Type {contentType} is not supported here',
    zh: '此处不支持 Content-Type {contentType}',
  },
  PARLEY_ERR_HTTP_CLIENT: { status: 400, type: 'invalid_request', message: '{reason}', zh: '请求无效：{reason}' },
  PARLEY_ERR_HTTP_METRICS_TOKEN: {
    status: 401,
    type: 'unauthorized',
    message: 'Metrics need the configured bearer token',
    zh: '访问监控指标需要提供配置的 Bearer 令牌',
  },
  PARLEY_ERR_HTTP_METRICS_FORBIDDEN: {
    status: 403,
    type: 'forbidden',
    message: 'Metrics are served to the addresses of server.metrics.allow only',
    zh: '监控指标只对 server.metrics.allow 中的地址开放',
  },
  PARLEY_ERR_HTTP_INTERNAL: {
    status: 500,
    type: 'internal_error',
    message: 'Internal server error (request id {requestId})',
    zh: '服务器内部错误（请求 ID {requestId}）',
  },
  PARLEY_ERR_HTTP_UNAVAILABLE: {
    status: 503,
    type: 'service_unavailable',
    message: '{reason}',
    zh: '服务暂时不可用：{reason}',
  },
  PARLEY_ERR_HTTP_SHUTTING_DOWN: {
    status: 503,
    type: 'service_unavailable',
    message: 'The server is shutting down; retry on another instance',
    zh: '服务器正在关闭，请在其他实例上重试',
  },
} satisfies Record<string, ErrorSpec & { readonly zh: string }>

/** The kernel's error factories: `throw errors.PARLEY_ERR_CATALOG_CHANNEL_NOT_FOUND({ id })`. */
export const errors = defineErrors(KERNEL_ERROR_SPECS)
