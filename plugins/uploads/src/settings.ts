import { Type, type PluginContext, type Setting } from '@parley/core'

/** Defaults of the runtime settings; the plugin's options may change them, an admin at runtime. */
export const UPLOAD_DEFAULTS = Object.freeze({
  max_file_bytes: 10 * 1024 * 1024,
  quota_bytes: 200 * 1024 * 1024,
  max_files: 8,
  url_seconds: 300,
  guests: false,
  orphan_hours: 24,
})

export interface UploadDefaults {
  readonly max_file_bytes: number
  readonly quota_bytes: number
  readonly max_files: number
  readonly url_seconds: number
  readonly guests: boolean
  readonly orphan_hours: number
}

/** The upload limits, read from memory on every presign (`uploads.*` in the console). */
export interface UploadSettings {
  readonly maxFileBytes: Setting<number>
  readonly quotaBytes: Setting<number>
  readonly maxFiles: Setting<number>
  readonly urlSeconds: Setting<number>
  readonly guests: Setting<boolean>
  readonly orphanHours: Setting<number>
}

/** Declares `uploads.*` with English and Chinese labels. */
export function defineUploadSettings(ctx: PluginContext, defaults: UploadDefaults): UploadSettings {
  return {
    maxFileBytes: ctx.settings.define({
      key: 'max_file_bytes',
      schema: Type.Integer({
        minimum: 1024,
        maximum: 100 * 1024 * 1024,
        title: 'Largest image (bytes)',
        description: 'Each attached image may have at most this many bytes',
      }),
      default: defaults.max_file_bytes,
      public: true,
      locales: { 'zh-CN': { title: '单张图片上限（字节）', description: '每张附加图片最多这么多字节' } },
    }),
    quotaBytes: ctx.settings.define({
      key: 'quota_bytes',
      schema: Type.Integer({
        minimum: 0,
        maximum: 1024 ** 4,
        title: 'Storage per user (bytes)',
        description: 'All images of one user (or guest) together; 0 for no limit',
      }),
      default: defaults.quota_bytes,
      locales: {
        'zh-CN': { title: '每位用户的存储配额（字节）', description: '一位用户（或访客）所有图片的总和；0 表示不限' },
      },
    }),
    maxFiles: ctx.settings.define({
      key: 'max_files',
      schema: Type.Integer({
        minimum: 1,
        maximum: 50,
        title: 'Images per message',
        description: 'How many images one upload request (one message) may carry',
      }),
      default: defaults.max_files,
      public: true,
      locales: { 'zh-CN': { title: '每条消息的图片数', description: '一次上传请求（一条消息）最多可带的图片数' } },
    }),
    urlSeconds: ctx.settings.define({
      key: 'url_seconds',
      schema: Type.Integer({
        minimum: 30,
        maximum: 3600,
        title: 'Upload URL lifetime (seconds)',
        description: 'How long a presigned upload URL works',
      }),
      default: defaults.url_seconds,
      locales: { 'zh-CN': { title: '上传链接有效期（秒）', description: '预签名上传链接的有效时长' } },
    }),
    guests: ctx.settings.define({
      key: 'guests',
      schema: Type.Boolean({
        title: 'Guests may attach images',
        description: 'Visitors who are not signed in may upload images',
      }),
      default: defaults.guests,
      public: true,
      locales: { 'zh-CN': { title: '允许访客添加图片', description: '未登录的访客也可以上传图片' } },
    }),
    orphanHours: ctx.settings.define({
      key: 'orphan_hours',
      schema: Type.Integer({
        minimum: 1,
        maximum: 720,
        title: 'Unsent images kept (hours)',
        description: 'Images never sent in a message are deleted after this many hours',
      }),
      default: defaults.orphan_hours,
      locales: { 'zh-CN': { title: '未发送图片保留（小时）', description: '从未随消息发送的图片在这么多小时后删除' } },
    }),
  }
}
