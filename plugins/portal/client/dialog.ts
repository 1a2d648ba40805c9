import { role, text } from './dom.js'
import type { ApiError } from './session.js'

/*
 * The error dialog: `rate_limit_exceeded` with a countdown from `retry_after`, `upstream_error`,
 * and anything else unexpected.
 */

let countdown: ReturnType<typeof setInterval> | undefined

export function showErrorDialog(error: ApiError): void {
  const dialog = role<HTMLDialogElement>(document, 'dialog')
  const title =
    error.type === 'rate_limit_exceeded'
      ? text('rate_limited_title')
      : error.type === 'upstream_error'
        ? text('upstream_title')
        : text('error_title')
  role(dialog, 'dialog-title').textContent = title
  role(dialog, 'dialog-message').textContent = error.message
  const counter = role(dialog, 'dialog-countdown')
  clearInterval(countdown)
  counter.textContent = ''
  dialog.dataset.errorType = error.type
  if (error.type === 'rate_limit_exceeded' && error.retryAfter !== undefined) {
    const until = Date.now() + error.retryAfter * 1000
    const tick = () => {
      const seconds = Math.max(0, Math.ceil((until - Date.now()) / 1000))
      counter.textContent = seconds > 0 ? text('retry_in', { seconds }) : text('retry_now')
      if (seconds === 0) clearInterval(countdown)
    }
    tick()
    countdown = setInterval(tick, 1000)
  }
  dialog.addEventListener('close', () => clearInterval(countdown), { once: true })
  if (!dialog.open) dialog.showModal()
}
