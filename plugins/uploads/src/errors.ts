import { defineErrors } from '@parley/core'

/** Every refusal of the upload API, in English and Simplified Chinese (picked by `Accept-Language`). */
export const uploadErrors = defineErrors({
  PARLEY_ERR_UPLOADS_TYPE: {
    status: 400,
    type: 'upload_type_refused',
    message: 'File {index}: {reason}; allowed are png, jpeg, webp and gif images',
    zh: '第 {index} 个文件：{reason}；只允许 png、jpeg、webp 和 gif 图片',
  },
  PARLEY_ERR_UPLOADS_TOO_LARGE: {
    status: 413,
    type: 'upload_too_large',
    message: 'File {index} has {size} bytes; the limit is {limit} bytes per file',
    zh: '第 {index} 个文件有 {size} 字节，超过了每个文件 {limit} 字节的上限',
  },
  PARLEY_ERR_UPLOADS_EMPTY: {
    status: 400,
    type: 'upload_empty',
    message: 'File {index} is empty',
    zh: '第 {index} 个文件是空的',
  },
  PARLEY_ERR_UPLOADS_TOO_MANY: {
    status: 400,
    type: 'upload_too_many_files',
    message: 'At most {limit} files per request; this one has {count}',
    zh: '每次最多上传 {limit} 个文件，本次有 {count} 个',
  },
  PARLEY_ERR_UPLOADS_QUOTA: {
    status: 413,
    type: 'upload_quota_exceeded',
    message: 'Your uploads would take {wanted} bytes; your quota is {quota} bytes (in use: {used})',
    zh: '上传后将占用 {wanted} 字节，超过了您 {quota} 字节的配额（已用 {used} 字节）',
  },
  PARLEY_ERR_UPLOADS_GUEST_OFF: {
    status: 403,
    type: 'upload_guest_forbidden',
    message: 'Sign in to attach images; guests may not upload',
    zh: '请登录后再添加图片；访客不能上传',
  },
  PARLEY_ERR_UPLOADS_CONVERSATION: {
    status: 404,
    type: 'not_found',
    message: 'You have no conversation {id}',
    zh: '您没有编号为 {id} 的会话',
  },
  PARLEY_ERR_UPLOADS_NOT_FOUND: {
    status: 404,
    type: 'not_found',
    message: 'You have no upload {key}',
    zh: '您没有上传过 {key}',
  },
})
