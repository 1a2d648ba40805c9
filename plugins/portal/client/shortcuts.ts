/*
 * The chat page's keyboard shortcuts, as Open WebUI has them: Ctrl/⌘+Shift+O a new chat,
 * Shift+Esc or `/` the message box, Esc stops a streaming answer, `?` lists them. `/` and `?`
 * are typed as text when a field has the focus; the others work from anywhere on the page.
 */

export interface ChatShortcuts {
  newChat(): void
  focusPrompt(): void
  /** True when an answer was streaming and is now stopped. */
  stop(): boolean
  help(): void
}

function editing(target: EventTarget | null): boolean {
  return (
    target instanceof HTMLElement && (target.isContentEditable || target.closest('input, textarea, select') !== null)
  )
}

export function installChatShortcuts(actions: ChatShortcuts): void {
  const mac = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent)
  // The help names the modifier this keyboard has.
  if (mac) for (const key of document.querySelectorAll('[data-role="mod"]')) key.textContent = '⌘'
  document.addEventListener('keydown', event => {
    if (event.defaultPrevented || event.isComposing) return
    const modal = document.querySelector('dialog[open]') !== null
    const command = mac ? event.metaKey : event.ctrlKey
    if (command && event.shiftKey && !event.altKey && (event.code === 'KeyO' || event.key.toLowerCase() === 'o')) {
      event.preventDefault()
      if (!modal) actions.newChat()
      return
    }
    if (event.key === 'Escape' && !modal && !event.ctrlKey && !event.metaKey && !event.altKey) {
      if (event.shiftKey) {
        event.preventDefault()
        actions.focusPrompt()
      } else if (actions.stop()) event.preventDefault()
      return
    }
    if (modal || editing(event.target) || event.ctrlKey || event.metaKey || event.altKey) return
    if (event.key === '/') {
      event.preventDefault()
      actions.focusPrompt()
    } else if (event.key === '?') {
      event.preventDefault()
      actions.help()
    }
  })
}
