import { ask, RefusedError } from './stream.js'
import { TEXTS, type Texts } from './texts.js'

/*
 * The widget frame (served by the gateway at /widget/frame): a launcher and a chat panel. The
 * host page's loader gives it the session token by postMessage; the frame talks to the gateway
 * on its own origin, so no token ever crosses into the host page's requests.
 */

interface Config {
  readonly lang: 'en' | 'zh-CN'
  readonly greeting: string
  readonly color: string
  readonly origins: readonly string[]
}

type Message = { role: 'user' | 'assistant'; content: string }

const root = document.getElementById('parley-widget') as HTMLElement
const config: Config = JSON.parse(root.dataset.config ?? '{}') as Config
const t: Texts = TEXTS[config.lang] ?? TEXTS.en
document.documentElement.style.setProperty('--accent', config.color)

let token: string | undefined
let waiting: Array<(token: string | undefined) => void> = []
const history: Message[] = []
let render: ((text: string) => DocumentFragment) | undefined
let busy = false

const el = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text?: string,
): HTMLElementTagNameMap[K] => {
  const node = document.createElement(tag)
  node.className = className
  if (text !== undefined) node.textContent = text
  return node
}

const launcher = el('button', 'pw-launcher')
launcher.type = 'button'
launcher.setAttribute('aria-label', t.open)
launcher.innerHTML =
  '<svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true"><path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>'
const panel = el('section', 'pw-panel')
panel.hidden = true
panel.setAttribute('role', 'dialog')
panel.setAttribute('aria-label', document.title)
const header = el('header', 'pw-header')
const title = el('h1', 'pw-title', document.title)
const close = el('button', 'pw-close', '×')
close.type = 'button'
close.setAttribute('aria-label', t.close)
header.append(title, close)
const log = el('div', 'pw-log')
log.setAttribute('aria-live', 'polite')
const form = el('form', 'pw-composer')
const input = el('textarea', 'pw-input')
input.rows = 1
input.placeholder = t.placeholder
input.maxLength = 8000
const send = el('button', 'pw-send', t.send)
send.type = 'submit'
form.append(input, send)
panel.append(header, log, form)
root.append(launcher, panel)
if (config.greeting) bubble('assistant', config.greeting)

const parentOrigin = (): string =>
  location.ancestorOrigins?.[0] ?? (document.referrer ? new URL(document.referrer).origin : '*')
const tell = (type: string) => window.parent.postMessage({ type }, parentOrigin())

window.addEventListener('message', event => {
  if (event.source !== window.parent || !config.origins.includes(event.origin)) return
  const data = event.data as { type?: unknown; token?: unknown } | null
  if (data?.type !== 'parley:session') return
  token = typeof data.token === 'string' ? data.token : undefined
  const resolve = waiting
  waiting = []
  resolve.forEach(done => done(token))
})

function freshSession(expired: boolean): Promise<string | undefined> {
  if (token && !expired) return Promise.resolve(token)
  return new Promise(resolve => {
    waiting.push(resolve)
    tell(expired ? 'parley:session-expired' : 'parley:ready')
  })
}

launcher.addEventListener('click', () => setOpen(true))
close.addEventListener('click', () => setOpen(false))
input.addEventListener('keydown', event => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault()
    form.requestSubmit()
  }
})
form.addEventListener('submit', event => {
  event.preventDefault()
  const text = input.value.trim()
  if (text && !busy) void exchange(text)
})

function setOpen(open: boolean): void {
  tell(open ? 'parley:open' : 'parley:close')
  panel.hidden = !open
  launcher.hidden = open
  if (open) {
    input.focus()
    // The Markdown renderer is fetched while the user types, not before the panel opens.
    void import('./markdown.js').then(module => (render = module.renderMarkdown))
  } else launcher.focus()
}

function bubble(role: Message['role'] | 'error', text: string): HTMLElement {
  const node = el('div', `pw-bubble pw-${role}`)
  if (role === 'assistant' && render) node.replaceChildren(render(text))
  else node.textContent = text
  log.append(node)
  log.scrollTop = log.scrollHeight
  return node
}

async function exchange(text: string): Promise<void> {
  busy = true
  send.disabled = true
  input.value = ''
  bubble('user', text)
  history.push({ role: 'user', content: text })
  const answer = bubble('assistant', t.thinking)
  answer.classList.add('pw-pending')
  let content = ''
  let frame = 0
  const paint = () => {
    frame = 0
    answer.classList.remove('pw-pending', 'pw-reconnecting')
    if (render) answer.replaceChildren(render(content))
    else answer.textContent = content
    log.scrollTop = log.scrollHeight
  }
  const handlers = {
    text: (delta: string) => {
      content += delta
      frame ||= requestAnimationFrame(paint)
    },
    reconnecting: () => answer.classList.add('pw-reconnecting'),
  }
  try {
    await ask(freshSession, config.lang, history, handlers)
    if (frame) cancelAnimationFrame(frame)
    paint()
    history.push({ role: 'assistant', content })
  } catch (error) {
    if (frame) cancelAnimationFrame(frame)
    if (content) paint()
    else answer.remove()
    history.pop()
    bubble('error', refusalText(error))
  } finally {
    busy = false
    send.disabled = false
  }
}

/** What the user is told when an answer fails: the gateway's refusal is already in their language. */
function refusalText(error: unknown): string {
  if (!(error instanceof RefusedError)) return t.failed
  if (error.type === 'no_session') return t.noSession
  if (error.type === 'session_expired') return t.sessionExpired
  return error.message || t.failed
}

tell('parley:close')
