import { defineErrors } from '@parley/core'

/** What the personal model config API answers when it refuses (English and Simplified Chinese). */
export const modelConfigErrors = defineErrors({
  PARLEY_ERR_MODEL_CONFIG_NOT_FOUND: {
    status: 404,
    type: 'model_config_not_found',
    message: 'You have no personal model config {id}',
    zh: '您没有编号为 {id} 的个人模型配置',
  },
  PARLEY_ERR_MODEL_CONFIG_QUOTA: {
    status: 403,
    type: 'model_config_quota_exceeded',
    message: 'Your group allows {limit} personal model configs and you have {used}',
    zh: '您所在的用户组最多允许 {limit} 个个人模型配置，您已有 {used} 个',
  },
  PARLEY_ERR_MODEL_CONFIG_KEY_UNREADABLE: {
    status: 409,
    type: 'model_config_key_unreadable',
    message:
      'The API key of this config can no longer be read (the encryption key changed); save it again with its key',
    zh: '此配置的 API 密钥已无法读取（加密密钥已更换），请重新填写密钥后保存',
  },
})
