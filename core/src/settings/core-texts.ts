import type { SettingDefinition } from './registry.js'

/*
 * The core settings' label, help and option labels in Chinese. English is in their schema
 * (config/schema.ts), which stays the one source of the English texts, but for a help text
 * the schema words for validation messages.
 */
export const CORE_SETTING_LOCALES: Readonly<Record<string, SettingDefinition['locales']>> = {
  guest_rpm: { 'zh-CN': { title: '访客每分钟请求数', description: '按 IP 地址计；0 表示不限' } },
  user_rpm: {
    'zh-CN': { title: '用户每分钟请求数', description: '按用户计，用户组另有设置时以用户组为准；0 表示不限' },
  },
  log_retention_days: { 'zh-CN': { title: '调用日志保留天数', description: '更早的调用日志每晚删除' } },
  allow_registration: { 'zh-CN': { title: '开放注册', description: '任何人都可以在门户上注册账户' } },
  allow_guest: { 'zh-CN': { title: '允许访客聊天', description: '未登录的访客也可以使用聊天页面' } },
  chat_history_mode: {
    'zh-CN': {
      title: '聊天记录',
      description: '门户在哪里保存会话',
      options: { browser: '保存在浏览器中', memory: '不保存', server: '保存在服务器上' },
    },
  },
  site_name: { 'zh-CN': { title: '站点名称', description: '显示在页头和页面标题中' } },
  site_base_url: {
    'zh-CN': { title: '公开访问地址', description: '用户访问网关的地址，如 https://chat.example.com；不确定时留空' },
  },
  default_group: { 'zh-CN': { title: '新用户所属用户组', description: '新注册的账户加入此用户组' } },
  model_passthrough: {
    'zh-CN': { title: '透传未知模型', description: '任何模型名都原样转发，而不只提供目录中已启用的模型' },
  },
  allow_private_upstreams: {
    'zh-CN': {
      title: '允许内网上游',
      description: '渠道可以指向局域网地址（如你网络中的模型服务器）；关闭时可防范 SSRF',
    },
  },
  key_auto_disable_after: {
    'zh-CN': {
      title: '认证失败后停用密钥',
      description: '上游连续这么多次拒绝（401/403）某个渠道密钥后将其停用；渠道测试通过后重新启用。0 表示从不停用',
    },
  },
  // The schema's description is worded to complete a refusal ("expected an IANA time zone …").
  time_zone: {
    en: { description: 'An IANA time zone such as UTC or Asia/Shanghai' },
    'zh-CN': { title: '统计时区', description: 'IANA 时区名，如 UTC 或 Asia/Shanghai' },
  },
}
