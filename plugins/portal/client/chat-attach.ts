import { callerJson } from './chat-api.js'
import { rememberPreview } from './chat-images.js'
import { element, role, text } from './dom.js'
import { ApiError } from './session.js'

/*
 * Images attached to a message (the uploads plugin, docs/storage.md#uploads): chosen with the
 * button, pasted or dropped on the composer; each is presigned, then sent by the browser
 * straight to the storage URL with its progress shown, and may be removed until the message
 * goes. The message carries `parley-object://<key>` parts (chat-images.ts shows them).
 */

export { imagesOf, withImages } from './chat-images.js'

const TYPES: Readonly<Record<string, string>> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/webp': 'webp',
  'image/gif': 'gif',
}

/** The limits `GET /api/portal/config` gives when the uploads plugin is loaded. */
export interface UploadLimits {
  readonly max_file_bytes: number
  readonly max_files: number
}

interface Presigned {
  readonly key: string
  readonly url: string
  readonly method: 'PUT' | 'POST'
  readonly headers: Readonly<Record<string, string>>
  readonly fields?: Readonly<Record<string, string>>
}

interface Attachment {
  readonly file: File
  readonly preview: string
  readonly item: HTMLLIElement
  readonly progress: HTMLProgressElement
  key?: string
  done: Promise<void>
  failed?: string
  request?: XMLHttpRequest
}

/** The composer's attachments: the button, paste, drag-and-drop, previews, progress, removal. */
export class Attachments {
  readonly #tray: HTMLUListElement
  readonly #error: HTMLElement
  #items: Attachment[] = []
  /** The folder of images attached before the conversation has an id (a new chat). */
  readonly #draft = `b-${Array.from(crypto.getRandomValues(new Uint8Array(12)), byte => byte.toString(16).padStart(2, '0')).join('')}`

  constructor(
    root: HTMLElement,
    private readonly limits: UploadLimits,
    /**
     * The folder the images go to: the conversation's id, or undefined for a chat that has none
     * yet (a draft folder then). A promise may create the conversation first, so that deleting
     * it reaches its first images too.
     */
    private readonly namespace: () => string | undefined | Promise<string | undefined>,
  ) {
    const composer = role<HTMLFormElement>(root, 'composer')
    const prompt = role<HTMLTextAreaElement>(root, 'prompt')
    this.#tray = element('ul', { className: 'chat-attachments', attributes: { 'aria-label': text('attach_list') } })
    this.#tray.dataset.role = 'attachments'
    this.#tray.hidden = true
    this.#error = element('p', { className: 'chat-attach-error', attributes: { role: 'alert' } })
    this.#error.dataset.role = 'attach-error'
    this.#error.hidden = true
    const input = element('input', {
      attributes: { type: 'file', accept: Object.keys(TYPES).join(','), multiple: '', hidden: '' },
    })
    input.dataset.role = 'attach-input'
    const button = element('button', {
      className: 'btn btn-quiet chat-attach-button',
      attributes: { type: 'button', title: text('attach'), 'aria-label': text('attach') },
    })
    button.dataset.role = 'attach'
    button.append(paperclip())
    button.addEventListener('click', () => input.click())
    input.addEventListener('change', () => {
      this.add([...(input.files ?? [])])
      input.value = ''
    })
    prompt.addEventListener('paste', event => {
      const files = [...(event.clipboardData?.files ?? [])]
      if (files.length === 0) return
      event.preventDefault()
      this.add(files)
    })
    composer.addEventListener('dragover', event => {
      if (!event.dataTransfer?.types.includes('Files')) return
      event.preventDefault()
      composer.classList.add('chat-composer-drop')
    })
    composer.addEventListener('dragleave', () => composer.classList.remove('chat-composer-drop'))
    composer.addEventListener('drop', event => {
      composer.classList.remove('chat-composer-drop')
      const files = [...(event.dataTransfer?.files ?? [])]
      if (files.length === 0) return
      event.preventDefault()
      this.add(files)
    })
    composer.before(this.#tray, this.#error)
    prompt.before(input, button)
  }

  /** Whether anything is attached. */
  get empty(): boolean {
    return this.#items.length === 0
  }

  /** Checks, presigns and uploads `files`; a refused file is named in the page's language. */
  add(files: readonly File[]): void {
    this.#say('')
    const wanted = files.filter(file => {
      if (TYPES[file.type] !== undefined) return true
      this.#say(text('attach_type', { name: file.name }))
      return false
    })
    const room = this.limits.max_files - this.#items.length
    if (wanted.length > room) this.#say(text('attach_too_many', { count: this.limits.max_files }))
    const accepted = wanted.slice(0, Math.max(room, 0)).filter(file => {
      if (file.size <= this.limits.max_file_bytes) return true
      this.#say(text('attach_too_large', { name: file.name, size: sizeText(this.limits.max_file_bytes) }))
      return false
    })
    if (accepted.length === 0) return
    const added = accepted.map(file => this.#show(file))
    const announced = accepted.map(file => ({ extension: TYPES[file.type], content_type: file.type, size: file.size }))
    const presigning = Promise.resolve(this.namespace()).then(folder =>
      callerJson<{ items: Presigned[] }>('/api/uploads/presign', {
        conversation_id: folder ?? this.#draft,
        files: announced,
      }),
    )
    added.forEach((attachment, index) => {
      attachment.done = presigning
        .then(({ items }) => this.#upload(attachment, items[index] as Presigned))
        .catch((error: unknown) => this.#fail(attachment, error))
    })
  }

  /**
   * The keys to send once every upload is done; undefined (with the reason shown) while one
   * failed, so the message is not sent without an image its writer meant to attach.
   */
  async keys(): Promise<string[] | undefined> {
    await Promise.all(this.#items.map(attachment => attachment.done))
    if (this.#items.some(attachment => attachment.failed !== undefined)) {
      this.#say(text('attach_failed_send'))
      return undefined
    }
    return this.#items.map(attachment => attachment.key as string)
  }

  /** Empties the tray once the message is on its way (the previews stay for the log). */
  clear(): void {
    this.#items = []
    this.#tray.replaceChildren()
    this.#tray.hidden = true
    this.#say('')
  }

  #show(file: File): Attachment {
    const preview = URL.createObjectURL(file)
    const item = element('li', { className: 'chat-attachment' })
    item.dataset.state = 'uploading'
    const image = element('img', { attributes: { src: preview, alt: file.name } })
    const progress = element('progress', {
      attributes: { max: '100', value: '0', 'aria-label': text('attach_progress', { name: file.name }) },
    })
    const remove = element('button', {
      className: 'chat-attachment-remove',
      text: '×',
      attributes: {
        type: 'button',
        'aria-label': text('attach_remove', { name: file.name }),
        'data-action': 'remove-attachment',
      },
    })
    item.append(image, progress, remove)
    const attachment: Attachment = { file, preview, item, progress, done: Promise.resolve() }
    remove.addEventListener('click', () => {
      attachment.request?.abort()
      this.#items = this.#items.filter(other => other !== attachment)
      item.remove()
      this.#tray.hidden = this.#items.length === 0
      if (this.#items.every(other => other.failed === undefined)) this.#say('')
    })
    this.#items.push(attachment)
    this.#tray.append(item)
    this.#tray.hidden = false
    return attachment
  }

  /** Sends the file straight to its storage URL, with progress (fetch has none for uploads). */
  #upload(attachment: Attachment, target: Presigned): Promise<void> {
    return new Promise((resolve, reject) => {
      const request = new XMLHttpRequest()
      attachment.request = request
      request.open(target.method, target.url)
      for (const [name, value] of Object.entries(target.headers)) request.setRequestHeader(name, value)
      request.upload.addEventListener('progress', event => {
        if (event.lengthComputable) attachment.progress.value = Math.round((event.loaded / event.total) * 100)
      })
      request.addEventListener('load', () => {
        if (request.status < 200 || request.status >= 300) return reject(new Error(`HTTP ${request.status}`))
        attachment.key = target.key
        attachment.progress.value = 100
        attachment.item.dataset.state = 'done'
        rememberPreview(target.key, attachment.preview)
        resolve()
      })
      request.addEventListener('error', () => reject(new Error('network error')))
      request.addEventListener('abort', () => resolve())
      if (target.method === 'POST') {
        const form = new FormData()
        for (const [name, value] of Object.entries(target.fields ?? {})) form.append(name, value)
        form.append('file', attachment.file)
        request.send(form)
      } else request.send(attachment.file)
    })
  }

  #fail(attachment: Attachment, error: unknown): void {
    attachment.failed =
      error instanceof ApiError ? error.message : text('attach_failed', { name: attachment.file.name })
    attachment.item.dataset.state = 'error'
    this.#say(attachment.failed)
  }

  #say(message: string): void {
    this.#error.textContent = message
    this.#error.hidden = message === ''
  }
}

/** The button's icon, drawn (an emoji depends on the fonts a system has). */
function paperclip(): SVGSVGElement {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg')
  for (const [name, value] of Object.entries({
    viewBox: '0 0 24 24',
    width: '20',
    height: '20',
    fill: 'none',
    stroke: 'currentColor',
    'stroke-width': '2',
    'stroke-linecap': 'round',
    'stroke-linejoin': 'round',
    'aria-hidden': 'true',
  }))
    svg.setAttribute(name, value)
  const path = document.createElementNS('http://www.w3.org/2000/svg', 'path')
  path.setAttribute(
    'd',
    'M21 11.5l-8.6 8.6a5.5 5.5 0 0 1-7.8-7.8l8.6-8.6a3.7 3.7 0 0 1 5.2 5.2l-8.6 8.6a1.8 1.8 0 0 1-2.6-2.6l7.9-7.9',
  )
  svg.append(path)
  return svg
}

/** 10 MB, 512 KB: the limit as people read it. */
function sizeText(bytes: number): string {
  const mb = bytes / 1024 / 1024
  if (mb >= 1) return `${Number.isInteger(mb) ? mb : mb.toFixed(1)} MB`
  return `${Math.floor(bytes / 1024)} KB`
}
