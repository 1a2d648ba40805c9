export interface Texts {
  readonly open: string
  readonly close: string
  readonly placeholder: string
  readonly send: string
  readonly thinking: string
  readonly reconnecting: string
  readonly failed: string
  readonly noSession: string
  readonly sessionExpired: string
}

/** The frame's texts; the server's refusals come in the same language (Accept-Language). */
export const TEXTS: Readonly<Record<'en' | 'zh-CN', Texts>> = {
  en: {
    open: 'Open chat',
    close: 'Close chat',
    placeholder: 'Type a message…',
    send: 'Send',
    thinking: 'Thinking…',
    reconnecting: 'Connection lost, resuming…',
    failed: 'The answer could not be completed. Please try again.',
    noSession: 'Chat is not available right now. Please reload the page.',
    sessionExpired: 'Your chat session has ended and could not be renewed. Please reload the page.',
  },
  'zh-CN': {
    open: '打开聊天',
    close: '关闭聊天',
    placeholder: '输入消息…',
    send: '发送',
    thinking: '思考中…',
    reconnecting: '连接中断，正在恢复…',
    failed: '回答未能完成，请重试。',
    noSession: '聊天暂不可用，请刷新页面。',
    sessionExpired: '聊天会话已过期且无法续期，请刷新页面。',
  },
}
