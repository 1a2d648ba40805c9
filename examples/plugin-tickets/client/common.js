/* global document, fetch, FileReader, window */
// Shared by the portal page and the console section: texts from the page, DOM helpers, the
// thread. Everything the API returns goes into the page as text, never as HTML.

export const $ = (root, role) => root.querySelector(`[data-role="${role}"]`)

/** A text the template rendered in the visitor's language (`data-t-<key>` on the section). */
export const text = (root, key) => root.dataset[`t${key.replace(/(^|-)(\w)/g, (_, __, c) => c.toUpperCase())}`] ?? key

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag)
  Object.assign(node, props)
  for (const child of children) node.append(child)
  return node
}

export function showError(root, error) {
  const box = $(root, 'error')
  box.textContent = error ? error.message : ''
  box.hidden = !error
}

/** fetch with the caller's credentials; the `{error: {message}}` envelope becomes a thrown Error. */
export async function api(headers, path, init = {}) {
  const response = await fetch(path, {
    credentials: 'same-origin',
    ...init,
    headers: { ...headers, ...(init.body ? { 'content-type': 'application/json' } : {}) },
  })
  if (response.ok) return response.headers.get('content-type')?.includes('json') ? response.json() : response.blob()
  const body = await response.json().catch(() => ({}))
  const error = new Error(body.error?.message ?? `HTTP ${response.status}`)
  error.status = response.status
  throw error
}

export function statusBadge(root, status) {
  return el('span', {
    className: `tickets-status tickets-status-${status}`,
    textContent: text(root, `status-${status}`),
  })
}

/** The thread of one ticket, with its files (downloaded through the API, which checks the owner). */
export function drawThread(root, headers, ticket, onSend, onClose) {
  const box = $(root, 'thread')
  box.replaceChildren(el('h2', { textContent: `#${ticket.id} ${ticket.subject} ` }, statusBadge(root, ticket.status)))
  for (const message of ticket.messages) {
    // The console names the user; the portal says "you".
    const mine = message.author === 'user' && root.dataset.tickets === 'portal'
    const who = message.author === 'admin' ? message.author_name : mine ? text(root, 'you') : ticket.user_name
    const files = message.attachments.map(file =>
      el('button', {
        type: 'button',
        className: 'tickets-file',
        textContent: `${file.filename} (${file.size} B)`,
        onclick: () => download(headers, ticket.id, file),
      }),
    )
    box.append(
      el(
        'div',
        { className: `tickets-message tickets-from-${message.author}` },
        el('p', {
          className: 'tickets-who',
          textContent: `${who} · ${new Date(message.created_at).toLocaleString(document.documentElement.lang)}`,
        }),
        el('p', { className: 'tickets-body', textContent: message.body }),
        ...files,
      ),
    )
  }
  if (ticket.status !== 'closed') {
    const body = el('textarea', { name: 'body', rows: 3, required: true })
    const form = el(
      'form',
      { className: 'tickets-form' },
      body,
      el('button', { type: 'submit', textContent: text(root, 'reply') }),
    )
    form.onsubmit = event => {
      event.preventDefault()
      onSend(body.value)
    }
    box.append(
      form,
      el('button', { type: 'button', className: 'tickets-close', textContent: text(root, 'close'), onclick: onClose }),
    )
  }
  box.hidden = false
}

async function download(headers, id, file) {
  const blob = await api(headers, `/api/tickets/${id}/attachments/${file.id}`)
  const link = el('a', { href: URL.createObjectURL(blob), download: file.filename })
  link.click()
  window.setTimeout(() => URL.revokeObjectURL(link.href), 1000)
}

/** A file as the API wants it: its bytes in base64. */
export function readFile(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader()
    reader.onload = () =>
      resolve({ filename: file.name, content_type: file.type, data: String(reader.result).replace(/^data:[^,]*,/, '') })
    reader.onerror = () => reject(reader.error)
    reader.readAsDataURL(file)
  })
}
