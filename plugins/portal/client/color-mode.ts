/*
 * Light, dark or the system's colours. The server prints the choice as `<html data-theme>`
 * from the `color_mode` cookie, so every page paints in the right colours from the first frame
 * (no script runs before the paint; the CSP allows none inline). The theme's switch is links
 * (`?color_mode=…`) that work without this script; with it, a click switches at once, and the
 * choice is written to the cookie and to localStorage. When the cookie is gone (cleared, or
 * expired) but localStorage remembers, the choice is put back.
 */

export type ColorMode = 'system' | 'light' | 'dark'

const COOKIE = 'color_mode'
const STORAGE_KEY = 'parley.color_mode'
const YEAR = 365 * 24 * 3600

function parse(value: string | null | undefined): ColorMode | undefined {
  return value === 'system' || value === 'light' || value === 'dark' ? value : undefined
}

function cookie(): ColorMode | undefined {
  return parse(/(?:^|;\s*)color_mode=([^;]*)/.exec(document.cookie)?.[1])
}

/** Applies `mode` to this page and remembers it in the cookie and localStorage. */
export function setColorMode(mode: ColorMode): void {
  document.documentElement.dataset.theme = mode
  document.cookie = `${COOKIE}=${mode}; Path=/; Max-Age=${YEAR}; SameSite=Lax`
  try {
    localStorage.setItem(STORAGE_KEY, mode)
  } catch {
    // storage refused (a private window's quota): the cookie alone remembers
  }
  for (const link of document.querySelectorAll<HTMLElement>('[data-color-mode]')) {
    if (link.dataset.colorMode === mode) link.setAttribute('aria-current', 'true')
    else link.removeAttribute('aria-current')
  }
}

export function startColorMode(): void {
  let stored: ColorMode | undefined
  try {
    stored = parse(localStorage.getItem(STORAGE_KEY))
  } catch {
    stored = undefined
  }
  const current = cookie()
  if (current) {
    // The cookie is what the server used: a choice made on a page without this script (the console) wins.
    if (current !== stored) setColorMode(current)
  } else if (stored) setColorMode(stored)
  document.addEventListener('click', event => {
    const link = (event.target as Element | null)?.closest<HTMLElement>('a[data-color-mode]')
    const mode = parse(link?.dataset.colorMode)
    if (
      !link ||
      !mode ||
      event.defaultPrevented ||
      event.button !== 0 ||
      event.metaKey ||
      event.ctrlKey ||
      event.shiftKey ||
      event.altKey
    )
      return
    event.preventDefault()
    setColorMode(mode)
  })
}
