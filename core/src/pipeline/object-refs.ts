import { createHmac } from 'node:crypto'
import type { Principal } from '../auth/principal.js'
import { errors } from '../errors.js'
import { storageKeyProblem } from '../storage/keys.js'
import type { ObjectStorage } from '../storage/port.js'

/**
 * A message refers to a stored image by key, never by URL: `{type: 'image_url', image_url:
 * {url: 'parley-object://<key>'}}`. URLs expire; keys do not. Whoever reads the message turns
 * the key into what they can use: the portal a short-lived presigned GET (`ObjectRefs.forClient`),
 * the data plane a presigned URL or a `data:` URL per channel (object-delivery.ts).
 *
 * Keys are `<owner>/<conversation_id>/images/<uuid>.<ext>`; the first segment is the caller's
 * own (`ObjectRefs.owner`) and nobody may use a key under another's.
 */
export const OBJECT_REF_PREFIX = 'parley-object://'

declare module '../events/bus.js' {
  interface ParleyEvents {
    /**
     * A call sent these stored images upstream (emitted once per call, before its first attempt):
     * the uploads plugin marks them attached, so the orphan sweep keeps them.
     */
    'objects.used': { readonly owner: string; readonly keys: readonly string[] }
    /**
     * Conversations were deleted (emitted by the conversations plugin, declared here too so the
     * uploads plugin builds without it): their stored images go too. `owner` is the
     * conversation's owner (`user`: the user id; `widget`: `<client_id>:<external_user_id>`).
     */
    'conversation.deleted': {
      readonly owner: { readonly kind: 'user' | 'widget'; readonly id: string }
      readonly ids: readonly number[]
    }
  }
}

/** How long a URL handed to a client for reading an image back works. */
export const OBJECT_VIEW_SECONDS = 600

/** Part of every owner derivation, so these HMACs are never the same as another use of the secret. */
const OWNER_CONTEXT = 'parley.object-owner'

/** A content part that refers to an image (stored or not). */
interface ImagePart {
  readonly type: 'image_url'
  readonly image_url: { readonly url: string; readonly detail?: string }
}

/**
 * The first key segment `principal` owns: a user (or an API token's user) its user id; a guest
 * `guest-<16 hex>` of an HMAC of its address; a widget user `widget-<client id>-<16 hex>` of an
 * HMAC of its external id. The HMACs keep addresses and phone numbers out of bucket listings
 * while giving one caller the same owner on every request. `secret` is the server secret.
 *
 * @example
 * objectOwner({ kind: 'user', userId: '42', ... }, secret)            // '42'
 * objectOwner({ kind: 'guest', ip: '203.0.113.9', ... }, secret)      // 'guest-3f9a0c1d2e4b5a67'
 */
export function objectOwner(principal: Principal, secret: string | Buffer): string {
  switch (principal.kind) {
    case 'user':
    case 'api_token':
      return principal.userId
    case 'guest':
      return `guest-${digest(secret, `guest\0${principal.ip}`)}`
    case 'widget_user':
      return `widget-${principal.clientId}-${digest(secret, `widget\0${principal.clientId}\0${principal.externalId}`)}`
  }
}

function digest(secret: string | Buffer, text: string): string {
  return createHmac('sha256', secret).update(OWNER_CONTEXT).update('\0').update(text).digest('hex').slice(0, 16)
}

/** The key a `parley-object://` URL names, or `undefined` for any other URL. */
export function objectKeyOf(url: unknown): string | undefined {
  return typeof url === 'string' && url.startsWith(OBJECT_REF_PREFIX) ? url.slice(OBJECT_REF_PREFIX.length) : undefined
}

/** Whether `key` lies under `owner`'s first segment and is a valid storage key. */
export function ownsObjectKey(owner: string, key: string): boolean {
  return key.startsWith(`${owner}/`) && storageKeyProblem(key) === undefined
}

/** The stored-image parts of one message's content (only `image_url` parts' URL prefix is read). */
export function objectPartsOf(content: unknown): ImagePart[] | undefined {
  if (!Array.isArray(content)) return undefined
  let found: ImagePart[] | undefined
  for (const part of content as unknown[]) {
    if (isImagePart(part) && part.image_url.url.startsWith(OBJECT_REF_PREFIX)) (found ??= []).push(part)
  }
  return found
}

const NO_KEYS: readonly string[] = Object.freeze([])

/**
 * Every key the messages refer to, each once; empty when none does. Runs for every chat call
 * while a storage driver is loaded, so a call without one allocates nothing: string contents
 * are skipped, and of parts only an `image_url` part's URL prefix is read.
 */
export function objectKeysIn(messages: unknown): readonly string[] {
  if (!Array.isArray(messages)) return NO_KEYS
  let keys: Set<string> | undefined
  for (const message of messages as unknown[]) {
    const content = (message as { content?: unknown } | null)?.content
    if (!Array.isArray(content)) continue
    for (const part of content as unknown[]) {
      if (isImagePart(part) && part.image_url.url.startsWith(OBJECT_REF_PREFIX))
        (keys ??= new Set()).add(part.image_url.url.slice(OBJECT_REF_PREFIX.length))
    }
  }
  return keys ? [...keys] : NO_KEYS
}

/**
 * `content` with every stored-image reference replaced by `urlOf(key)`; the same array when
 * there is none. Other parts and fields (`detail`) are kept as they are.
 */
export function replaceObjectRefs<T>(content: T, urlOf: (key: string) => string): T {
  if (!objectPartsOf(content)) return content
  return (content as unknown[]).map(part => {
    const key = isImagePart(part) ? objectKeyOf(part.image_url.url) : undefined
    if (key === undefined) return part
    const image = part as ImagePart
    return { ...image, image_url: { ...image.image_url, url: urlOf(key) } }
  }) as T
}

function isImagePart(part: unknown): part is ImagePart {
  return (
    typeof part === 'object' &&
    part !== null &&
    (part as { type?: unknown }).type === 'image_url' &&
    typeof (part as { image_url?: { url?: unknown } }).image_url?.url === 'string'
  )
}

/**
 * Stored-image references for plugins: who owns which keys, and a message's content made
 * readable by its owner. Resolve it under `TOKENS.objects`.
 *
 * @example
 * const objects = ctx.container.resolve<ObjectRefs>(TOKENS.objects)
 * const owner = objects.owner(principal)                        // first key segment
 * const content = await objects.forClient(message.content, principal)
 * // parley-object://42/c1/images/0b8e.png → https://bucket.../42/c1/images/0b8e.png?X-Amz-...
 */
export class ObjectRefs {
  readonly #secret: string

  constructor(
    private readonly storage: ObjectStorage,
    secret: string,
  ) {
    this.#secret = secret
  }

  /** The first key segment the caller owns (see `objectOwner`). */
  owner(principal: Principal): string {
    return objectOwner(principal, this.#secret)
  }

  /** Whether the caller may use `key`: it lies under the caller's own owner segment. */
  owns(principal: Principal, key: string): boolean {
    return ownsObjectKey(this.owner(principal), key)
  }

  /**
   * A message's content for its owner to read: each `parley-object://` reference becomes a
   * presigned GET that works `expiresInSeconds` (default 10 minutes). A string, or parts without
   * a reference, come back as they are, without touching storage.
   *
   * @throws ParleyError `PARLEY_ERR_OBJECT_NOT_FOUND` (404) for a key under another owner
   */
  async forClient<T>(content: T, principal: Principal, expiresInSeconds = OBJECT_VIEW_SECONDS): Promise<T> {
    const parts = objectPartsOf(content)
    if (!parts) return content
    const owner = this.owner(principal)
    const urls = new Map<string, string>()
    for (const part of parts) {
      const key = part.image_url.url.slice(OBJECT_REF_PREFIX.length)
      if (urls.has(key)) continue
      if (!ownsObjectKey(owner, key)) throw errors.PARLEY_ERR_OBJECT_NOT_FOUND({ key: JSON.stringify(key) })
      urls.set(key, (await this.storage.presignGet(key, { expiresInSeconds })).url)
    }
    return replaceObjectRefs(content, key => urls.get(key) as string)
  }
}
