import { defineErrors } from '@parley/core'

/** The plugin's own errors, in English and Simplified Chinese. */
export const errors = defineErrors({
  PARLEY_ERR_TICKETS_NOT_FOUND: {
    status: 404,
    type: 'not_found',
    message: 'No such ticket',
    zh: '工单不存在',
  },
  PARLEY_ERR_TICKETS_TOO_MANY_OPEN: {
    status: 409,
    type: 'conflict',
    message: 'You already have {max} open tickets: wait for an answer or close one',
    zh: '您已有 {max} 个未关闭的工单：请等待回复或关闭其中一个',
  },
  PARLEY_ERR_TICKETS_RATE: {
    status: 429,
    type: 'rate_limit_exceeded',
    message: 'At most {max} tickets a day: try again tomorrow',
    zh: '每天最多 {max} 个工单：请明天再试',
  },
  PARLEY_ERR_TICKETS_TOO_LONG: {
    status: 400,
    type: 'invalid_request',
    message: 'A message may have at most {max} characters',
    zh: '消息最多 {max} 个字符',
  },
  PARLEY_ERR_TICKETS_CLOSED: {
    status: 409,
    type: 'conflict',
    message: 'The ticket is closed: open a new one',
    zh: '工单已关闭：请新建工单',
  },
  PARLEY_ERR_TICKETS_ATTACHMENT_COUNT: {
    status: 400,
    type: 'invalid_request',
    message: 'At most {max} attachments per message',
    zh: '每条消息最多 {max} 个附件',
  },
  PARLEY_ERR_TICKETS_ATTACHMENT_TYPE: {
    status: 415,
    type: 'unsupported_media_type',
    message: 'Attachment {name}: only {allowed} are accepted',
    zh: '附件 {name}：只接受 {allowed}',
  },
  PARLEY_ERR_TICKETS_ATTACHMENT_SIZE: {
    status: 413,
    type: 'payload_too_large',
    message: 'Attachment {name}: at most {max} bytes',
    zh: '附件 {name}：最多 {max} 字节',
  },
  PARLEY_ERR_TICKETS_ATTACHMENT_DATA: {
    status: 400,
    type: 'invalid_request',
    message: 'Attachment {name}: data must be base64',
    zh: '附件 {name}：data 必须是 base64',
  },
})
