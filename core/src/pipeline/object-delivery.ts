import type { RoutableChannel } from '../catalog/snapshot.js'
import type { ImageDelivery } from '../catalog/views.js'
import { errors } from '../errors.js'
import type { EventBus } from '../events/bus.js'
import type { ActiveStorage } from '../storage/active.js'
import type { Call } from './call.js'
import type { Json } from './formats/format.js'
import { objectKeysIn, objectPartsOf, ownsObjectKey, replaceObjectRefs, type ObjectRefs } from './object-refs.js'

/** How long a presigned URL sent upstream works: long enough for a slow upstream to fetch it. */
export const UPSTREAM_URL_SECONDS = 900
/** The largest image sent inline: a `data:` URL is a third larger again, and the body is held whole. */
export const INLINE_MAX_BYTES = 20 * 1024 * 1024

/** The stored images one call refers to, and what each became for the upstream (kept across attempts). */
export interface CallObjects {
  readonly owner: string
  readonly keys: readonly string[]
  readonly urls: Map<string, string>
  readonly inline: Map<string, string>
  announced: boolean
}

/**
 * Resolves a call's `parley-object://` references for the channel each attempt goes to: a
 * presigned URL or the image inlined as a `data:` URL, as the channel's `image_delivery` says
 * (docs/catalog.md). Only the caller's own keys; a missing object is a 400 before any upstream.
 * With no storage driver loaded, `active` is false and no body is ever scanned.
 */
export class ObjectDelivery {
  constructor(
    private readonly storage: ActiveStorage,
    private readonly refs: ObjectRefs,
    private readonly events: EventBus,
  ) {}

  /** Whether a storage driver is loaded: without one no request is scanned. */
  get active(): boolean {
    return this.storage.driver !== undefined
  }

  /**
   * The stored images a chat call refers to, or `undefined` when it refers to none (only
   * `image_url` parts' URL prefix is read).
   *
   * @throws ParleyError `PARLEY_ERR_OBJECT_REF` (400) for a key that is not the caller's
   */
  prepare(call: Call): CallObjects | undefined {
    const keys = objectKeysIn(call.body.messages)
    if (keys.length === 0) return undefined
    const owner = this.refs.owner(call.principal)
    for (const key of keys) {
      if (!ownsObjectKey(owner, key)) throw notYours(key)
    }
    return { owner, keys, urls: new Map(), inline: new Map(), announced: false }
  }

  /** The call's body with every reference resolved for `channel`; announces the keys once. */
  async bodyFor(call: Call, objects: CallObjects, channel: RoutableChannel): Promise<Json> {
    const mode: ImageDelivery = channel.imageDelivery ?? 'auto'
    const resolved = new Map<string, string>()
    for (const key of objects.keys) resolved.set(key, await this.#resolve(objects, key, mode))
    if (!objects.announced) {
      objects.announced = true
      this.events.emit('objects.used', { owner: objects.owner, keys: objects.keys })
    }
    const messages = (call.body.messages as Array<{ content?: unknown }>).map(message =>
      objectPartsOf(message.content)
        ? { ...message, content: replaceObjectRefs(message.content, key => resolved.get(key) as string) }
        : message,
    )
    return { ...call.body, messages }
  }

  async #resolve(objects: CallObjects, key: string, mode: ImageDelivery): Promise<string> {
    if (mode !== 'inline') {
      let url = objects.urls.get(key)
      if (url === undefined) {
        await this.#existing(key)
        url = (await this.storage.presignGet(key, { expiresInSeconds: UPSTREAM_URL_SECONDS })).url
        objects.urls.set(key, url)
      }
      if (/^https?:\/\//i.test(url)) return url
      // storage-local without an absolute site_base_url: a path only a browser on this site can use.
      if (mode === 'url') {
        throw errors.PARLEY_ERR_OBJECT_REF({
          ref: JSON.stringify(key),
          reason:
            'this channel takes images as URLs, but storage URLs here are relative; set site_base_url, or the channel’s image delivery to auto or inline',
        })
      }
    }
    let data = objects.inline.get(key)
    if (data === undefined) {
      data = await this.#inline(key)
      objects.inline.set(key, data)
    }
    return data
  }

  async #existing(key: string): Promise<void> {
    const info = await this.storage.head(key)
    if (!info) throw missing(key)
    if (!info.contentType.startsWith('image/')) throw notAnImage(key)
  }

  async #inline(key: string): Promise<string> {
    const object = await this.storage.get(key)
    if (!object) throw missing(key)
    if (!object.contentType.startsWith('image/') || object.size > INLINE_MAX_BYTES) {
      // Read nothing: the body stream is closed by giving it up.
      await object.body[Symbol.asyncIterator]().return?.()
      throw object.size > INLINE_MAX_BYTES ? tooLargeToInline(key) : notAnImage(key)
    }
    const chunks: Uint8Array[] = []
    let size = 0
    for await (const chunk of object.body) {
      size += chunk.byteLength
      if (size > INLINE_MAX_BYTES) throw tooLargeToInline(key)
      chunks.push(chunk)
    }
    return `data:${object.contentType};base64,${Buffer.concat(chunks).toString('base64')}`
  }
}

function notYours(key: string) {
  return errors.PARLEY_ERR_OBJECT_REF({ ref: JSON.stringify(key), reason: 'it is not one of your uploads' })
}

function missing(key: string) {
  return errors.PARLEY_ERR_OBJECT_REF({
    ref: JSON.stringify(key),
    reason: 'no such image among your uploads (it was never uploaded, or it was deleted)',
  })
}

function notAnImage(key: string) {
  return errors.PARLEY_ERR_OBJECT_REF({ ref: JSON.stringify(key), reason: 'the stored object is not an image' })
}

function tooLargeToInline(key: string) {
  return errors.PARLEY_ERR_OBJECT_REF({
    ref: JSON.stringify(key),
    reason: `the image is larger than ${INLINE_MAX_BYTES / 1024 / 1024} MiB, too large to send inline`,
  })
}
