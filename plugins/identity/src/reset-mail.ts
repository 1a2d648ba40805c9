import type { Language } from '@parley/core'
import type { MailMessage } from './mail.js'

interface ResetMailInput {
  readonly to: string
  readonly username: string
  readonly site: string
  readonly link: string
  readonly minutes: number
}

const TEXTS: Record<Language, (input: ResetMailInput) => Omit<MailMessage, 'to'>> = {
  en: ({ username, site, link, minutes }) => ({
    subject: `Reset your ${site} password`,
    text: [
      `Hello ${username},`,
      '',
      `someone (we hope you) asked to reset the password of your ${site} account.`,
      `Open this link within ${minutes} minutes to choose a new one. It works once:`,
      '',
      link,
      '',
      'Every device signed in to your account will be signed out.',
      'If it was not you, ignore this mail: your password stays as it is.',
    ].join('\n'),
  }),
  'zh-CN': ({ username, site, link, minutes }) => ({
    subject: `重置您的 ${site} 密码`,
    text: [
      `${username}，您好：`,
      '',
      `有人（希望是您本人）请求重置您在 ${site} 的账号密码。`,
      `请在 ${minutes} 分钟内打开下面的链接设置新密码，该链接只能使用一次：`,
      '',
      link,
      '',
      '重置后，所有已登录您账号的设备都将退出登录。',
      '如果这不是您本人的操作，请忽略本邮件，您的密码不会改变。',
    ].join('\n'),
  }),
}

/** The reset mail in the language the user asked in. */
export function resetMail(language: Language, input: ResetMailInput): MailMessage {
  return { to: input.to, ...TEXTS[language](input) }
}
