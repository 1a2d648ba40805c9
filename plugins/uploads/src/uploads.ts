import { randomUUID } from 'node:crypto'
import type { EntityManager, ObjectRefs, ObjectStorage, Principal } from '@parley/core'
import { Upload } from './entities.js'
import { uploadErrors } from './errors.js'
import type { UploadSettings } from './settings.js'

/** The image types an upload may have: extension → the one content type it must be sent with. */
export const IMAGE_TYPES: Readonly<Record<string, string>> = Object.freeze({
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
})

/** A caller's namespace inside its owner segment: a conversation id, stored or the browser's. */
export const CONVERSATION_ID = /^[A-Za-z0-9_-]{1,64}$/

/** One file the browser announces before uploading it. */
export interface AnnouncedFile {
  readonly extension: string
  readonly content_type: string
  readonly size: number
}

/** One upload URL, as `POST /api/uploads/presign` answers it. */
export interface PresignedItem {
  readonly key: string
  readonly url: string
  readonly method: 'PUT' | 'POST'
  readonly headers: Readonly<Record<string, string>>
  readonly fields?: Readonly<Record<string, string>>
  readonly expires_at: string
}

/** Checks that a stored conversation is the caller's (the conversations plugin, when loaded). */
export type ConversationCheck = (principal: Principal, conversationId: string) => Promise<boolean>

export interface UploadsOptions {
  readonly em: () => EntityManager
  readonly storage: ObjectStorage
  readonly refs: ObjectRefs
  readonly settings: UploadSettings
  /** Undefined when no conversations plugin is loaded: every namespace is then the caller's own. */
  readonly conversation?: ConversationCheck
}

/**
 * The upload API's rules: types, sizes, the per-owner quota, the caller's own conversation;
 * each URL is signed for one exact type and size, and a row per key is kept for the quota, the
 * read-back check and the orphan sweep.
 */
export class Uploads {
  constructor(private readonly options: UploadsOptions) {}

  /** Presigned upload URLs for `files`, all or none: a refused file signs nothing and stores nothing. */
  async presign(
    principal: Principal,
    conversationId: string,
    files: readonly AnnouncedFile[],
  ): Promise<PresignedItem[]> {
    const { settings, storage, refs } = this.options
    if (principal.kind === 'guest' && !settings.guests.get()) throw uploadErrors.PARLEY_ERR_UPLOADS_GUEST_OFF()
    const maxFiles = settings.maxFiles.get()
    if (files.length > maxFiles)
      throw uploadErrors.PARLEY_ERR_UPLOADS_TOO_MANY({ limit: maxFiles, count: files.length })
    const checked = files.map((file, index) => checkFile(file, index + 1, settings.maxFileBytes.get()))
    const owner = refs.owner(principal)
    if (this.options.conversation && !(await this.options.conversation(principal, conversationId)))
      throw uploadErrors.PARLEY_ERR_UPLOADS_CONVERSATION({ id: conversationId })
    const quota = settings.quotaBytes.get()
    if (quota > 0) {
      const used = await this.usedBytes(owner)
      const wanted = used + checked.reduce((sum, file) => sum + file.size, 0)
      if (wanted > quota) throw uploadErrors.PARLEY_ERR_UPLOADS_QUOTA({ wanted, quota, used })
    }
    const expiresInSeconds = settings.urlSeconds.get()
    const items: PresignedItem[] = []
    for (const file of checked) {
      const key = `${owner}/${conversationId}/images/${randomUUID()}.${file.extension}`
      const upload = await storage.presignPut(key, {
        contentType: file.contentType,
        contentLength: file.size,
        expiresInSeconds,
      })
      items.push({
        key,
        url: upload.url,
        method: upload.method,
        headers: upload.headers,
        ...(upload.fields ? { fields: upload.fields } : {}),
        expires_at: upload.expiresAt.toISOString(),
      })
    }
    const em = this.options.em()
    items.forEach((item, index) => {
      const file = checked[index] as CheckedFile
      em.create(Upload, {
        key: item.key,
        owner,
        conversationId,
        contentType: file.contentType,
        size: file.size,
        attachedAt: null,
      })
    })
    await em.flush()
    return items
  }

  /** Presigned GETs of the caller's own stored images; any other key is a 404 (as if it did not exist). */
  async view(
    principal: Principal,
    keys: readonly string[],
  ): Promise<Array<{ key: string; url: string; expires_at: string }>> {
    const owner = this.options.refs.owner(principal)
    const wanted = [...new Set(keys)]
    const rows = await this.options.em().find(Upload, { owner, key: { $in: wanted } }, { fields: ['key'] })
    const found = new Set(rows.map(row => row.key))
    const missing = wanted.find(key => !found.has(key))
    if (missing !== undefined) throw uploadErrors.PARLEY_ERR_UPLOADS_NOT_FOUND({ key: JSON.stringify(missing) })
    const items: Array<{ key: string; url: string; expires_at: string }> = []
    for (const key of wanted) {
      const view = await this.options.storage.presignGet(key, {
        expiresInSeconds: this.options.settings.urlSeconds.get(),
      })
      items.push({ key, url: view.url, expires_at: view.expiresAt.toISOString() })
    }
    return items
  }

  /** Bytes the owner's uploads take (or may take: a URL handed out counts until it is swept). */
  async usedBytes(owner: string): Promise<number> {
    const rows = (await this.options
      .em()
      .getConnection()
      .execute('select coalesce(sum(`size`), 0) as used from `uploads` where `owner` = ?', [owner])) as Array<{
      used: number | string
    }>
    return Number(rows[0]?.used ?? 0)
  }
}

interface CheckedFile {
  readonly extension: string
  readonly contentType: string
  readonly size: number
}

function checkFile(file: AnnouncedFile, index: number, maxBytes: number): CheckedFile {
  const extension = file.extension.toLowerCase().replace(/^\./, '')
  const contentType = IMAGE_TYPES[extension]
  if (contentType === undefined)
    throw uploadErrors.PARLEY_ERR_UPLOADS_TYPE({
      index,
      reason: `the extension ${JSON.stringify(file.extension)} is not allowed`,
    })
  if (file.content_type.toLowerCase() !== contentType) {
    throw uploadErrors.PARLEY_ERR_UPLOADS_TYPE({
      index,
      reason: `a .${extension} file is ${contentType}, not ${JSON.stringify(file.content_type)}`,
    })
  }
  if (file.size === 0) throw uploadErrors.PARLEY_ERR_UPLOADS_EMPTY({ index })
  if (file.size > maxBytes) throw uploadErrors.PARLEY_ERR_UPLOADS_TOO_LARGE({ index, size: file.size, limit: maxBytes })
  return { extension, contentType, size: file.size }
}
