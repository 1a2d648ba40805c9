/* global document */
// The console's tickets section. The console's session is an httpOnly cookie, which the API
// accepts with the X-Parley-Console header (docs/admin-console.md, "Adding a section").
import { $, api, drawThread, el, showError, statusBadge } from './common.js'

const root = document.querySelector('[data-tickets="admin"]')
const headers = { 'x-parley-console': '1' }

async function run(action) {
  try {
    showError(root, undefined)
    await action()
  } catch (error) {
    showError(root, error)
  }
}

async function list() {
  const status = $(root, 'status').value
  const page = await api(headers, `/api/admin/tickets?page_size=50${status ? `&status=${status}` : ''}`)
  $(root, 'list').replaceChildren(
    ...page.items.map(ticket =>
      el(
        'li',
        {},
        el('button', {
          type: 'button',
          className: 'tickets-link',
          textContent: `#${ticket.id} ${ticket.subject} · ${ticket.user_name}`,
          onclick: () => run(() => open(ticket.id)),
        }),
        statusBadge(root, ticket.status),
      ),
    ),
  )
}

async function open(id) {
  const ticket = await api(headers, `/api/admin/tickets/${id}`)
  drawThread(
    root,
    headers,
    ticket,
    body =>
      run(async () => {
        await api(headers, `/api/admin/tickets/${id}/messages`, { method: 'POST', body: JSON.stringify({ body }) })
        await Promise.all([open(id), list()])
      }),
    () =>
      run(async () => {
        await api(headers, `/api/admin/tickets/${id}/close`, { method: 'POST' })
        await Promise.all([open(id), list()])
      }),
  )
}

$(root, 'status').onchange = () => run(list)
void run(list)
