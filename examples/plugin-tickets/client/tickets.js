/* global document, localStorage */
// The portal's support page. The portal keeps its sign-in in localStorage (`parley.session`,
// see plugins/portal/client/session.ts); without one the page offers the sign-in link.
import { $, api, drawThread, el, readFile, showError, statusBadge, text } from './common.js'

const root = document.querySelector('[data-tickets="portal"]')
const session = (() => {
  try {
    return JSON.parse(localStorage.getItem('parley.session') ?? 'null')
  } catch {
    return null
  }
})()
const headers = session?.access_token ? { authorization: `Bearer ${session.access_token}` } : undefined

async function run(action) {
  try {
    showError(root, undefined)
    await action()
  } catch (error) {
    if (error.status === 401) return signedOut()
    showError(root, error)
  }
}

function signedOut() {
  $(root, 'signin').hidden = false
  $(root, 'signed-in').hidden = true
}

async function list() {
  const page = await api(headers, '/api/tickets?page_size=50')
  const items = page.items.map(ticket =>
    el(
      'li',
      {},
      el('button', {
        type: 'button',
        className: 'tickets-link',
        textContent: `#${ticket.id} ${ticket.subject}`,
        onclick: () => run(() => open(ticket.id)),
      }),
      statusBadge(root, ticket.status),
      ...(ticket.unread ? [el('span', { className: 'tickets-unread', textContent: text(root, 'new-answer') })] : []),
    ),
  )
  $(root, 'list').replaceChildren(...(items.length ? items : [el('li', { textContent: text(root, 'none') })]))
  const unread = page.items.filter(ticket => ticket.unread).length
  $(root, 'unread').hidden = unread === 0
  $(root, 'unread').textContent = unread ? text(root, 'new-answer') + ` (${unread})` : ''
}

async function open(id) {
  const ticket = await api(headers, `/api/tickets/${id}`)
  drawThread(
    root,
    headers,
    ticket,
    body =>
      run(async () => {
        await api(headers, `/api/tickets/${id}/messages`, { method: 'POST', body: JSON.stringify({ body }) })
        await open(id)
      }),
    () =>
      run(async () => {
        await api(headers, `/api/tickets/${id}/close`, { method: 'POST' })
        await open(id)
      }),
  )
  await list()
}

$(root, 'open-form').onsubmit = event => {
  event.preventDefault()
  const form = event.currentTarget
  void run(async () => {
    const attachments = await Promise.all([...form.elements.files.files].map(readFile))
    const payload = { subject: form.elements.subject.value, body: form.elements.body.value, attachments }
    const ticket = await api(headers, '/api/tickets', { method: 'POST', body: JSON.stringify(payload) })
    form.reset()
    await open(ticket.id)
  })
}

if (headers) {
  $(root, 'signed-in').hidden = false
  void run(list)
} else signedOut()
