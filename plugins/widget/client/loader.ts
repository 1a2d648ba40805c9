/*
 * /widget.js: the one script a host page loads. It asks the gateway whether this page's origin
 * may embed the client (nothing is drawn otherwise), then adds one iframe served by the gateway:
 * the launcher and the panel live in it, so no CSS crosses either way. The session token comes
 * from `data-session`, a global function named by `data-session-callback`, or a POST to
 * `data-session-url` on the host's backend, and goes to the frame by postMessage only.
 */

interface Embed {
  readonly frame_url: string
  readonly title: string
}

type SessionSource = () => Promise<string | undefined>

const CLOSED = { width: '88px', height: '88px' }

void (async () => {
  const script = document.currentScript as HTMLScriptElement | null
  const clientId = script?.dataset.client
  if (!script || !clientId) return
  const gateway = new URL(script.src).origin
  const lang = script.dataset.lang ?? (/^zh\b/i.test(navigator.language) ? 'zh-CN' : 'en')
  let embed: Embed
  try {
    const answer = await fetch(`${gateway}/api/widget/embed/${encodeURIComponent(clientId)}?lang=${lang}`)
    if (!answer.ok) return
    embed = (await answer.json()) as Embed
  } catch {
    // Not an allowed origin (no CORS answer) or the gateway is unreachable: draw nothing.
    return
  }
  const session = sessionSource(script)
  let given = script.dataset.session
  const frame = document.createElement('iframe')
  frame.src = embed.frame_url
  frame.title = embed.title
  frame.setAttribute('allow', 'clipboard-write')
  Object.assign(frame.style, {
    position: 'fixed',
    right: '0',
    bottom: '0',
    border: '0',
    zIndex: '2147483647',
    background: 'transparent',
    colorScheme: 'normal',
    ...CLOSED,
  })
  const resize = (open: boolean) => {
    const phone = window.innerWidth < 520
    Object.assign(
      frame.style,
      !open ? CLOSED : phone ? { width: '100vw', height: '100dvh' } : { width: '420px', height: 'min(680px, 100vh)' },
    )
  }
  window.addEventListener('message', event => {
    if (event.origin !== gateway || event.source !== frame.contentWindow) return
    const type = (event.data as { type?: unknown } | null)?.type
    if (type === 'parley:open') resize(true)
    else if (type === 'parley:close') resize(false)
    else if (type === 'parley:ready' || type === 'parley:session-expired') {
      const fresh = type === 'parley:ready' && given !== undefined ? Promise.resolve(given) : session()
      given = undefined
      void fresh.then(
        token => frame.contentWindow?.postMessage({ type: 'parley:session', token: token ?? null }, gateway),
        () => frame.contentWindow?.postMessage({ type: 'parley:session', token: null }, gateway),
      )
    }
  })
  document.body.appendChild(frame)
})()

function sessionSource(script: HTMLScriptElement): SessionSource {
  const callback = script.dataset.sessionCallback
  const url = script.dataset.sessionUrl
  return async () => {
    const named = callback ? (window as unknown as Record<string, unknown>)[callback] : undefined
    if (typeof named === 'function') return (await (named as () => Promise<string>)()) || undefined
    if (!url) return undefined
    const answer = await fetch(url, { method: 'POST', credentials: 'include' })
    if (!answer.ok) return undefined
    return ((await answer.json()) as { session_token?: string }).session_token
  }
}
