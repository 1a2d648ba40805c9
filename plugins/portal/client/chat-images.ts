import { callerJson, type ContentPart } from './chat-api.js'
import { element, text } from './dom.js'

/*
 * Stored images in messages: a question's `parley-object://<key>` parts, and the images shown
 * above it, from this page's own previews or from short-lived URLs that
 * `POST /api/uploads/view` gives their owner (after a reload).
 */

export const OBJECT_PREFIX = 'parley-object://'

/** Object URLs of the images this page uploaded: shown at once, without asking for a URL. */
const previews = new Map<string, string>()

/** Keeps the preview of an image this page uploaded, to show it in the log without a request. */
export function rememberPreview(key: string, url: string): void {
  previews.set(key, url)
}

/** A question with images: a text part (when there is text) and a `parley-object://` part per key. */
export function withImages(content: string, keys: readonly string[] | undefined): string | ContentPart[] {
  if (!keys || keys.length === 0) return content
  return [
    ...(content === '' ? [] : [{ type: 'text' as const, text: content }]),
    ...keys.map(key => ({ type: 'image_url' as const, image_url: { url: `${OBJECT_PREFIX}${key}` } })),
  ]
}

/**
 * Stored images of a message: this page's own previews at once, the others from short-lived
 * URLs (after a reload). An image that cannot be shown any more says so.
 */
export function imagesOf(keys: readonly string[]): HTMLElement {
  const list = element('div', { className: 'chat-message-images' })
  list.dataset.role = 'message-images'
  const images = keys.map(key => {
    const image = element('img', { attributes: { alt: text('attach_image'), loading: 'lazy' } })
    const known = previews.get(key)
    if (known) image.src = known
    list.append(image)
    return { key, image, known }
  })
  const missing = images.filter(entry => !entry.known)
  if (missing.length === 0) return list
  callerJson<{ items: Array<{ key: string; url: string }> }>('/api/uploads/view', {
    keys: missing.map(entry => entry.key),
  }).then(
    ({ items }) => {
      const urls = new Map(items.map(item => [item.key, item.url]))
      for (const entry of missing) entry.image.src = urls.get(entry.key) ?? ''
    },
    () => {
      for (const entry of missing)
        entry.image.replaceWith(element('span', { className: 'chat-image-gone', text: text('attach_gone') }))
    },
  )
  return list
}
