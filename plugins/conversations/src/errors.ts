import { defineErrors } from '@parley/core'

/** The conversations plugin's refusals (docs/conversations.md). */
export const conversationErrors = defineErrors({
  PARLEY_ERR_CONVERSATION_NOT_FOUND: {
    status: 404,
    type: 'not_found',
    message: 'Conversation {id} does not exist',
    zh: '对话 {id} 不存在',
  },
  PARLEY_ERR_CONVERSATION_MESSAGE_NOT_FOUND: {
    status: 404,
    type: 'not_found',
    message: 'Message {id} does not exist',
    zh: '消息 {id} 不存在',
  },
  PARLEY_ERR_CONVERSATION_GUEST: {
    status: 403,
    type: 'forbidden',
    message:
      'Guests have no server history: sign in to keep conversations on the server (a guest chats through /api/chat/completions, kept in the browser)',
    zh: '访客没有服务器端历史：请登录后在服务器上保存对话（访客通过 /api/chat/completions 聊天，记录保存在浏览器中）',
  },
  PARLEY_ERR_CONVERSATION_MODEL_REQUIRED: {
    status: 400,
    type: 'invalid_request',
    message: 'Give either model or model_config_id, not both and not neither',
    zh: '请提供 model 或 model_config_id 之一，不能同时提供或都不提供',
  },
  PARLEY_ERR_CONVERSATION_MODEL_CONFIGS_OFF: {
    status: 400,
    type: 'invalid_request',
    message: 'model_config_id needs the model-configs plugin, which this gateway does not load; use model instead',
    zh: 'model_config_id 需要 model-configs 插件，本网关未加载该插件；请改用 model',
  },
  PARLEY_ERR_CONVERSATION_BUSY: {
    status: 409,
    type: 'conflict',
    message: 'Conversation {id} is still answering; stop it or wait for the answer to end',
    zh: '对话 {id} 仍在回答中；请先停止或等待回答结束',
  },
  PARLEY_ERR_CONVERSATION_NOTHING_TO_REPEAT: {
    status: 409,
    type: 'conflict',
    message: 'Conversation {id} has no question to answer again',
    zh: '对话 {id} 没有可以重新回答的问题',
  },
  PARLEY_ERR_CONVERSATION_MODEL_CONFIG_NOT_FOUND: {
    status: 404,
    type: 'not_found',
    message: 'Model config {id} does not exist or is not yours',
    zh: '模型配置 {id} 不存在或不属于你',
  },
  PARLEY_ERR_CONVERSATION_NOT_LAST_QUESTION: {
    status: 409,
    type: 'conflict',
    message: 'Only the last question of a conversation can be edited and sent again; message {id} is not it',
    zh: '只能编辑并重新发送对话中的最后一个问题；消息 {id} 不是最后一个问题',
  },
})
