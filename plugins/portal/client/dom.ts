/* Small DOM helpers shared by the pages. Nothing here ever assigns HTML: text goes through textContent. */

/** The element marked `data-role="<role>"` inside `root`; a missing one is a template bug, said loudly. */
export function role<T extends HTMLElement = HTMLElement>(root: ParentNode, name: string): T {
  const element = root.querySelector<T>(`[data-role="${name}"]`)
  if (!element) throw new Error(`portal: no [data-role="${name}"] on this page`)
  return element
}

export function maybeRole<T extends HTMLElement = HTMLElement>(root: ParentNode, name: string): T | null {
  return root.querySelector<T>(`[data-role="${name}"]`)
}

/** A text the server rendered in the page language (`partials/portal/dialog.hbs`), `{name}` filled from `values`. */
export function text(key: string, values: Record<string, string | number> = {}): string {
  const raw = document.querySelector(`[data-role="texts"] [data-text="${key}"]`)?.textContent ?? key
  return raw.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole))
}

export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  options: { className?: string; text?: string; attributes?: Record<string, string> } = {},
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag)
  if (options.className) node.className = options.className
  if (options.text !== undefined) node.textContent = options.text
  for (const [name, value] of Object.entries(options.attributes ?? {})) node.setAttribute(name, value)
  return node
}

/** Where to go after signing in: a same-site path only (never `//host` or a scheme). */
export function nextPath(fallback = '/chat'): string {
  const next = new URLSearchParams(location.search).get('next')
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : fallback
}

export function showError(target: HTMLElement, message: string): void {
  target.textContent = message
  target.hidden = message === ''
}
