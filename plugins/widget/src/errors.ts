import { defineErrors } from '@parley/core'

/**
 * Every error the widget answers with, English and Simplified Chinese. The session exchange
 * says which check refused a signed request (the integrator needs it to fix their backend) but
 * never echoes what a correct signature would have been.
 */
export const widgetErrors = defineErrors({
  PARLEY_ERR_WIDGET_CLIENT_NOT_FOUND: {
    status: 404,
    type: 'not_found',
    message: 'No widget client {id}',
    zh: '没有编号为 {id} 的挂件客户端',
  },
  PARLEY_ERR_WIDGET_MODEL_UNKNOWN: {
    status: 400,
    type: 'invalid_request',
    message: 'The catalog has no model {model}',
    zh: '模型目录中没有模型 {model}',
  },
  PARLEY_ERR_WIDGET_ADDRESS_INVALID: {
    status: 400,
    type: 'invalid_request',
    message: 'allowed_ips: {value} is neither an IP address nor a CIDR range',
    zh: 'allowed_ips：{value} 既不是 IP 地址也不是 CIDR 网段',
  },
  PARLEY_ERR_WIDGET_ORIGIN_INVALID: {
    status: 400,
    type: 'invalid_request',
    message: 'allowed_origins: {value} is not an origin such as https://shop.example',
    zh: 'allowed_origins：{value} 不是 https://shop.example 这样的来源',
  },
  PARLEY_ERR_WIDGET_SIGNATURE_HEADERS: {
    status: 401,
    type: 'invalid_signature',
    message:
      'A signed request needs the headers X-Parley-Client, X-Parley-Timestamp, X-Parley-Nonce and X-Parley-Signature ({missing})',
    zh: '签名请求需要 X-Parley-Client、X-Parley-Timestamp、X-Parley-Nonce 和 X-Parley-Signature 请求头（{missing}）',
  },
  PARLEY_ERR_WIDGET_CLIENT_UNKNOWN: {
    status: 401,
    type: 'invalid_client',
    message: 'The widget client is unknown or disabled',
    zh: '挂件客户端不存在或已停用',
  },
  PARLEY_ERR_WIDGET_TIMESTAMP: {
    status: 401,
    type: 'invalid_timestamp',
    message: 'X-Parley-Timestamp is more than {window} seconds away from the gateway clock (UNIX seconds)',
    zh: 'X-Parley-Timestamp 与网关时钟相差超过 {window} 秒（UNIX 秒）',
  },
  PARLEY_ERR_WIDGET_NONCE_REPLAYED: {
    status: 401,
    type: 'replayed_nonce',
    message: 'This X-Parley-Nonce was already used; send a new one with every request',
    zh: '该 X-Parley-Nonce 已被使用，每个请求都需要新的随机数',
  },
  PARLEY_ERR_WIDGET_SIGNATURE: {
    status: 401,
    type: 'invalid_signature',
    message:
      'The signature does not match this request (method, path, timestamp, nonce and body) and the client secret',
    zh: '签名与该请求（方法、路径、时间戳、随机数和请求体）及客户端密钥不匹配',
  },
  PARLEY_ERR_WIDGET_IP_FORBIDDEN: {
    status: 403,
    type: 'ip_not_allowed',
    message: 'Requests from {ip} are not allowed for this widget client',
    zh: '该挂件客户端不允许来自 {ip} 的请求',
  },
  PARLEY_ERR_WIDGET_BODY: {
    status: 400,
    type: 'invalid_request',
    message: 'The body must be JSON: {"external_user_id": "…", "display_name": "…"}',
    zh: '请求体必须是 JSON：{"external_user_id": "…", "display_name": "…"}',
  },
  PARLEY_ERR_WIDGET_SESSION: {
    status: 401,
    type: 'invalid_session',
    message: 'The widget session has expired or is not valid; ask the site for a new one',
    zh: '挂件会话已过期或无效，请向网站重新获取',
  },
  PARLEY_ERR_WIDGET_ANSWER_NOT_FOUND: {
    status: 404,
    type: 'not_found',
    message: 'No answer {id} for this session (answers are kept for {seconds} seconds)',
    zh: '本会话没有回答 {id}（回答保留 {seconds} 秒）',
  },
  PARLEY_ERR_WIDGET_ANSWER_INTERRUPTED: {
    status: 503,
    type: 'service_unavailable',
    message: 'The answer was cut off because the server restarted; ask again',
    zh: '服务器重启，回答被中断；请重新提问',
  },
  PARLEY_ERR_WIDGET_ORIGIN_FORBIDDEN: {
    status: 403,
    type: 'origin_not_allowed',
    message: 'This page may not embed the widget of this client',
    zh: '此页面无权嵌入该客户端的挂件',
  },
  PARLEY_ERR_WIDGET_STORE_DOWN: {
    status: 503,
    type: 'service_unavailable',
    message: 'Widget sessions cannot be read or written right now; try again shortly',
    zh: '暂时无法读取或写入挂件会话，请稍后重试',
  },
  PARLEY_ERR_WIDGET_TRANSCRIPTS_UNAVAILABLE: {
    status: 404,
    type: 'transcripts_unavailable',
    message: 'Transcripts need the conversations plugin, which is not loaded',
    zh: '对话记录需要 conversations 插件，但它未加载',
  },
})
