import { element, role, showError, text } from './dom.js'
import { ApiError, sessionJson } from './session.js'
import { expiresText, limitsDialog, limitsSummary, tokenText, type TokenLimits } from './token-limits.js'

/*
 * API tokens: the list (never the secrets), create and regenerate (plaintext shown once), their
 * limits, delete. The portal's own `chat` token is the chat page's: not listed here.
 */

const CHAT_TOKEN = 'chat'

interface TokenInfo extends TokenLimits {
  readonly id: number
  readonly name: string
  readonly hint: string
  readonly last_used_at: string | null
}

export async function startTokens(root: HTMLElement): Promise<void> {
  const rows = role<HTMLTableSectionElement>(root, 'rows')
  const error = role(root, 'error')
  const secret = role(root, 'secret')
  const secretValue = role(root, 'secret-value')
  const reveal = (token: string) => {
    secretValue.textContent = token
    secret.hidden = false
  }
  const guarded = (action: () => Promise<void>) => () =>
    void action().catch((failure: unknown) =>
      showError(error, failure instanceof ApiError ? failure.message : String(failure)),
    )

  // On a phone each row is a card, its cells labelled with the column names (portal.css).
  const labels = [...root.querySelectorAll('.token-table thead th')].map(cell => cell.textContent?.trim() ?? '')
  const cell = (column: number, value: string, className = '') =>
    element('td', { text: value, className, attributes: { 'data-label': labels[column] ?? '' } })
  const refresh = async () => {
    const { items } = await sessionJson<{ items: TokenInfo[] }>('GET', '/api/tokens')
    rows.replaceChildren(
      ...items
        .filter(token => token.name !== CHAT_TOKEN)
        .map(token => {
          const row = element('tr', { attributes: { 'data-token': token.name, 'data-id': String(token.id) } })
          if (!token.enabled) row.classList.add('token-off')
          row.append(
            cell(0, token.name, 'token-name'),
            cell(1, token.hint, 'token-hint'),
            cell(2, limitsSummary(token), 'token-limits'),
            cell(3, expiresText(token)),
            cell(4, token.last_used_at ? new Date(token.last_used_at).toLocaleString() : text('never')),
          )
          const actions = element('div', { className: 'token-actions' })
          const limits = element('button', {
            className: 'btn',
            text: tokenText('edit'),
            attributes: { type: 'button', 'data-action': 'limits' },
          })
          limits.addEventListener('click', () => openLimits(token))
          const regenerate = element('button', {
            className: 'btn',
            text: text('regenerate'),
            attributes: { type: 'button' },
          })
          regenerate.addEventListener(
            'click',
            guarded(async () => {
              reveal((await sessionJson<{ token: string }>('POST', `/api/tokens/${token.id}/regenerate`)).token)
              await refresh()
            }),
          )
          const remove = element('button', {
            className: 'btn btn-quiet',
            text: text('delete'),
            attributes: { type: 'button' },
          })
          remove.addEventListener(
            'click',
            guarded(async () => {
              if (!confirm(text('confirm_delete'))) return
              await sessionJson('DELETE', `/api/tokens/${token.id}`)
              await refresh()
            }),
          )
          actions.append(limits, regenerate, remove)
          const actionsCell = element('td', { className: 'token-actions-cell' })
          actionsCell.append(actions)
          row.append(actionsCell)
          return row
        }),
    )
  }

  const openLimits = limitsDialog(() => refresh())
  const form = role<HTMLFormElement>(root, 'create-form')
  form.addEventListener('submit', event => {
    event.preventDefault()
    guarded(async () => {
      showError(error, '')
      const name = String(new FormData(form).get('name') ?? '').trim()
      reveal((await sessionJson<{ token: string }>('POST', '/api/tokens', { name })).token)
      form.reset()
      await refresh()
    })()
  })
  root.querySelector('[data-action="copy"]')?.addEventListener('click', () => {
    void navigator.clipboard?.writeText(secretValue.textContent ?? '').then(() => showError(error, ''))
  })
  await refresh()
  root.dataset.ready = 'true'
}
