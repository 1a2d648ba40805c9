/*
 * The console's widget clients section (templates/pages/widget-clients.hbs): the list with its
 * actions, a form for a new client, and the secret shown once after a create or a rotation.
 * The session is the console's httpOnly cookie, accepted with `X-Parley-Console: 1`. Every
 * value from the API goes into the page as text.
 */

interface Client {
  readonly id: number
  readonly client_id: string
  readonly name: string
  readonly model: string
  readonly allowed_origins: string[]
  readonly rpm: number
  readonly transcripts: boolean
  readonly enabled: boolean
}

const root = document.querySelector<HTMLElement>('[data-widget="console"]') as HTMLElement
const t = (key: string): string =>
  root.dataset[`t${key.replace(/(^|_)(\w)/g, (_, __, c: string) => c.toUpperCase())}`] ?? key
const $ = <T extends HTMLElement>(role: string): T => root.querySelector(`[data-role="${role}"]`) as T
const form = $<HTMLFormElement>('form')
const error = $<HTMLElement>('error')

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(path, {
    ...init,
    credentials: 'same-origin',
    headers: { 'x-parley-console': '1', ...(init.body ? { 'content-type': 'application/json' } : {}) },
  })
  if (response.status === 204) return undefined as T
  const body = (await response.json()) as T & { error?: { message: string } }
  if (!response.ok) throw new Error(body.error?.message ?? String(response.status))
  return body
}

function el(tag: string, text?: string, className?: string): HTMLElement {
  const node = document.createElement(tag)
  if (text !== undefined) node.textContent = text
  if (className) node.className = className
  return node
}

function button(label: string, action: () => Promise<void>, danger = false): HTMLButtonElement {
  const node = el('button', label, `admin-btn${danger ? ' admin-btn-danger' : ''}`) as HTMLButtonElement
  node.type = 'button'
  node.addEventListener('click', () => void run(action))
  return node
}

async function run(action: () => Promise<void>): Promise<void> {
  error.hidden = true
  try {
    await action()
  } catch (failure) {
    error.textContent = (failure as Error).message
    error.hidden = false
  }
}

function showSecret(client: Pick<Client, 'name' | 'client_id'>, secret: string): void {
  const box = $<HTMLElement>('secret')
  const snippet = `<script src="${location.origin}/widget.js" data-client="${client.client_id}" data-session-url="/parley-session"></script>`
  box.replaceChildren(
    el('p', t('secret').replace('{name}', client.name)),
    el('code', secret, 'widget-secret-value'),
    el('p', t('snippet')),
    el('code', snippet, 'widget-secret-value'),
  )
  box.hidden = false
}

async function list(): Promise<void> {
  const page = await api<{ items: Client[] }>('/api/admin/widget-clients?page_size=100')
  const rows = page.items.map(client => {
    const row = el('tr')
    const status = el(
      'span',
      t(client.enabled ? 'enabled' : 'disabled'),
      `admin-badge ${client.enabled ? 'admin-badge-ok' : 'admin-badge-off'}`,
    )
    const actions = el('div', undefined, 'admin-row-actions')
    actions.append(
      button(t(client.enabled ? 'disable' : 'enable'), async () => {
        await api(`/api/admin/widget-clients/${client.id}`, {
          method: 'PUT',
          body: JSON.stringify({ enabled: !client.enabled }),
        })
        await list()
      }),
      button(t('rotate'), async () => {
        if (!confirm(t('confirm_rotate'))) return
        const rotated = await api<{ secret: string }>(`/api/admin/widget-clients/${client.id}/rotate-secret`, {
          method: 'POST',
          body: '{}',
        })
        showSecret(client, rotated.secret)
      }),
      button(t('export'), async () => {
        const response = await fetch(`/api/admin/widget-clients/${client.id}/transcripts/export`, {
          credentials: 'same-origin',
          headers: { 'x-parley-console': '1' },
        })
        if (!response.ok) throw new Error(((await response.json()) as { error: { message: string } }).error.message)
        const link = document.createElement('a')
        link.href = URL.createObjectURL(await response.blob())
        link.download = `widget-${client.id}-transcripts.jsonl`
        link.click()
        URL.revokeObjectURL(link.href)
      }),
      button(
        t('delete'),
        async () => {
          if (!confirm(t('confirm_delete'))) return
          await api(`/api/admin/widget-clients/${client.id}`, { method: 'DELETE' })
          await list()
        },
        true,
      ),
    )
    const nameCell = el('td', undefined, 'widget-name')
    nameCell.append(el('strong', client.name), actions)
    const cells = [
      nameCell,
      el('td', client.client_id, 'widget-mono'),
      el('td', client.model),
      el('td', client.allowed_origins.join('\n'), 'widget-pre'),
      el('td', String(client.rpm)),
      el('td', t(client.transcripts ? 'on' : 'off')),
    ]
    const statusCell = el('td')
    statusCell.append(status)
    row.append(...cells, statusCell)
    return row
  })
  const empty = el('tr')
  const cell = el('td', t('none'), 'admin-muted')
  ;(cell as HTMLTableCellElement).colSpan = 7
  empty.append(cell)
  $<HTMLElement>('rows').replaceChildren(...(rows.length > 0 ? rows : [empty]))
}

async function models(): Promise<void> {
  const page = await api<{ items: Array<{ name: string }> }>('/api/admin/models?page_size=100').catch(() => ({
    items: [],
  }))
  $<HTMLElement>('models').replaceChildren(
    ...page.items.map(model => {
      const option = document.createElement('option')
      option.value = model.name
      return option
    }),
  )
}

const lines = (value: FormDataEntryValue | null): string[] =>
  String(value ?? '')
    .split(/[\n,]/)
    .map(line => line.trim())
    .filter(line => line !== '')

form.addEventListener('submit', event => {
  event.preventDefault()
  void run(async () => {
    const data = new FormData(form)
    const created = await api<Client & { secret: string }>('/api/admin/widget-clients', {
      method: 'POST',
      body: JSON.stringify({
        name: String(data.get('name') ?? ''),
        model: String(data.get('model') ?? ''),
        allowed_ips: lines(data.get('allowed_ips')),
        allowed_origins: lines(data.get('allowed_origins')),
        greeting: String(data.get('greeting') ?? ''),
        rpm: Number(data.get('rpm') ?? 0),
        theme_color: String(data.get('theme_color') ?? '#2563eb'),
        transcripts: data.get('transcripts') === 'on',
      }),
    })
    form.reset()
    showSecret(created, created.secret)
    await list()
  })
})

void run(async () => {
  await Promise.all([list(), models()])
})
