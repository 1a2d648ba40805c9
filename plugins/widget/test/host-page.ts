import { createServer, type Server } from 'node:http'
import net from 'node:net'
import type { Test } from 'tap'
import { freePort } from '@parley/core/testing'
import { signedRequest, type CreatedClient } from './helpers.js'

/**
 * A business site on its own origin for the browser test: a page that embeds `/widget.js`
 * and a backend that signs session requests to the gateway, as docs/widget.md tells
 * integrators to. By default the loader POSTs to the backend (`data-session-url`); with
 * `callback`, the page names a global function that does it (`data-session-callback`), with
 * `session`, a token is rendered into the tag (`data-session`).
 */
export async function hostSite(
  t: Test,
  options: {
    gatewayUrl: string
    scriptBase: string
    client: CreatedClient
    lang?: string
    /** The page's `data-session-callback` function, instead of `data-session-url`. */
    callback?: 'fetch' | 'reject' | 'forged'
    session?: string
  },
): Promise<{ url: string; sessions: number; tokens: string[] }> {
  const state = { url: '', sessions: 0, tokens: [] as string[] }
  const server: Server = createServer((request, response) => {
    if (request.method === 'POST' && request.url === '/session') {
      state.sessions++
      const signed = signedRequest(options.client.client_id, options.client.secret, { external_user_id: 'shopper-42' })
      void fetch(`${options.gatewayUrl}/api/internal/session/create`, {
        method: 'POST',
        headers: signed.headers,
        body: signed.payload,
      })
        .then(async answer => {
          const body = await answer.text()
          if (answer.ok) state.tokens.push((JSON.parse(body) as { session_token: string }).session_token)
          response.writeHead(answer.status, { 'content-type': 'application/json' })
          response.end(body)
        })
        .catch(() => response.writeHead(502).end())
      return
    }
    const source = options.callback
      ? ` data-session-callback="shopSession"`
      : options.session === undefined
        ? ` data-session-url="/session"`
        : ''
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    response.end(
      `<!doctype html><html><head><title>Shop</title><style>body{font-family:serif;background:#fafaf0} button{background:red}</style></head>` +
        `<body><h1>A shop</h1><p>Products.</p>` +
        (options.callback ? `<script>${CALLBACKS[options.callback]}</script>` : '') +
        `<script src="${options.scriptBase}/widget.js" data-client="${options.client.client_id}"${source}` +
        `${options.session === undefined ? '' : ` data-session="${options.session}"`}` +
        `${options.lang ? ` data-lang="${options.lang}"` : ''}></script>` +
        `</body></html>`,
    )
  })
  const port = await freePort()
  await new Promise<void>(resolve => server.listen(port, 'localhost', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  state.url = `http://localhost:${port}`
  return state
}

/** The host page's session functions: its own backend's, one that fails, one whose tokens the gateway never made. */
const CALLBACKS = {
  fetch: `window.shopSession = () => fetch('/session', { method: 'POST' }).then(r => r.json()).then(b => b.session_token)`,
  reject: `window.shopSession = () => Promise.reject(new Error('the shop backend is down'))`,
  forged: `window.shopSession = () => Promise.resolve('pws_${'B'.repeat(43)}')`,
} as const

/** A TCP proxy in front of the gateway whose open connections the test can cut at once. */
export async function cuttableProxy(t: Test, targetPort: number): Promise<{ url: string; cut(): number }> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer(client => {
    const upstream = net.connect(targetPort, '127.0.0.1')
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', () => undefined)
    }
    client.pipe(upstream).pipe(client)
  })
  const port = await freePort()
  await new Promise<void>(resolve => server.listen(port, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const socket of sockets) socket.destroy()
    return new Promise<void>(resolve => server.close(() => resolve()))
  })
  return {
    url: `http://127.0.0.1:${port}`,
    cut: () => {
      const count = sockets.size
      for (const socket of sockets) socket.destroy()
      return count
    },
  }
}
