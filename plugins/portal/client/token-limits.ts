import { role, showError } from './dom.js'
import { ApiError, sessionJson } from './session.js'

/* An API token's limits on the tokens page: how the list shows them, and the dialog that edits them. */

export interface TokenLimits {
  readonly enabled: boolean
  readonly expires_at: string | null
  readonly models: string[] | null
  readonly allowed_ips: string[] | null
  readonly rpm: number | null
  readonly quota: number | null
  readonly used_tokens: number
}

/** A text of the tokens page (`data-role="token-texts"` in tokens.hbs), `{name}` filled from `values`. */
export function tokenText(key: string, values: Record<string, string | number> = {}): string {
  const raw = document.querySelector(`[data-role="token-texts"] [data-text="${key}"]`)?.textContent ?? key
  return raw.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole))
}

/** "Off · 2 models · 60/min · 1,200 / 10,000 tokens", or "None". */
export function limitsSummary(token: TokenLimits): string {
  const parts: string[] = []
  if (!token.enabled) parts.push(tokenText('off'))
  if (token.models !== null) parts.push(tokenText('models_count', { count: token.models.length }))
  if (token.allowed_ips !== null) parts.push(tokenText('ips_count', { count: token.allowed_ips.length }))
  if (token.rpm !== null) parts.push(tokenText('rpm', { rpm: token.rpm }))
  if (token.quota !== null)
    parts.push(tokenText('used', { used: token.used_tokens.toLocaleString(), quota: token.quota.toLocaleString() }))
  return parts.length > 0 ? parts.join(' · ') : tokenText('none')
}

export function expiresText(token: TokenLimits): string {
  if (token.expires_at === null) return tokenText('never_expires')
  const at = new Date(token.expires_at)
  return at.getTime() <= Date.now() ? `${tokenText('expired')} (${at.toLocaleString()})` : at.toLocaleString()
}

type EditedToken = TokenLimits & { readonly id: number; readonly name: string }

/**
 * Wires the limits dialog once; the answer opens it for one token. `saved` runs after the server
 * accepted a change (a refusal stays in the dialog, beside the Save button). A token with a quota
 * shows its used tokens there, with **Reset usage** (`PATCH {used_tokens: 0}`, after a confirmation).
 */
export function limitsDialog(saved: () => Promise<void>): (token: EditedToken) => void {
  const dialog = role<HTMLDialogElement>(document, 'limits-dialog')
  const form = role<HTMLFormElement>(dialog, 'limits-form')
  const error = role(dialog, 'limits-error')
  const input = (name: string) => form.elements.namedItem(name) as HTMLInputElement
  const usage = role(dialog, 'limits-usage')
  let current: EditedToken | undefined
  const showUsage = (token: EditedToken) => {
    usage.hidden = token.quota === null
    role(usage, 'limits-used').textContent =
      token.quota === null
        ? ''
        : tokenText('used', { used: token.used_tokens.toLocaleString(), quota: token.quota.toLocaleString() })
  }
  form.querySelector('[data-action="cancel-limits"]')?.addEventListener('click', () => dialog.close())
  usage.querySelector('[data-action="reset-usage"]')?.addEventListener('click', () => {
    const token = current
    if (!token || !confirm(tokenText('confirm_reset'))) return
    void (async () => {
      showError(error, '')
      try {
        current = {
          ...token,
          ...(await sessionJson<EditedToken>('PATCH', `/api/tokens/${token.id}`, { used_tokens: 0 })),
        }
        showUsage(current)
        await saved()
      } catch (failure) {
        showError(error, failure instanceof ApiError ? failure.message : String(failure))
      }
    })()
  })
  form.addEventListener('submit', event => {
    event.preventDefault()
    const token = current
    if (!token) return
    const value = (name: string) => input(name).value.trim()
    const lines = (name: string) => {
      const list = value(name)
        .split('\n')
        .map(line => line.trim())
        .filter(Boolean)
      return list.length > 0 ? list : null
    }
    const number = (name: string) => (value(name) === '' ? null : Number(value(name)))
    void (async () => {
      showError(error, '')
      try {
        await sessionJson('PATCH', `/api/tokens/${token.id}`, {
          enabled: input('enabled').checked,
          expires_at: value('expires_at') === '' ? null : new Date(value('expires_at')).toISOString(),
          models: lines('models'),
          allowed_ips: lines('allowed_ips'),
          rpm: number('rpm'),
          quota: number('quota'),
        })
        dialog.close()
        await saved()
      } catch (failure) {
        showError(error, failure instanceof ApiError ? failure.message : String(failure))
      }
    })()
  })
  return token => {
    current = token
    role(dialog, 'limits-name').textContent = token.name
    input('enabled').checked = token.enabled
    input('expires_at').value = token.expires_at ? localInput(new Date(token.expires_at)) : ''
    input('models').value = (token.models ?? []).join('\n')
    input('allowed_ips').value = (token.allowed_ips ?? []).join('\n')
    input('rpm').value = token.rpm === null ? '' : String(token.rpm)
    input('quota').value = token.quota === null ? '' : String(token.quota)
    showUsage(token)
    showError(error, '')
    dialog.showModal()
  }
}

/** `2026-12-07T09:30` in local time, as a datetime-local input takes it. */
function localInput(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`
}
