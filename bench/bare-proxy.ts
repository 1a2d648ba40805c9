/**
 * The ceiling for a proxy written in Node: `node:http` in front, undici behind with a keep-alive
 * pool, no framework, no auth, no parsing. It streams the request body to the upstream with the
 * upstream's key and pipes the answer back as it arrives. Parley does strictly more per request
 * than this, so the ratio of the two is Parley's overhead.
 */
import { createServer } from 'node:http'
import { setFlagsFromString } from 'node:v8'
import { Agent, request } from 'undici'
import { announce, onStop } from './child.js'

const upstream = process.argv[2]
if (!upstream) throw new Error('usage: bare-proxy.ts <upstream origin>')
const UPSTREAM_KEY = 'Bearer sk-bench-upstream-key'

// The V8 setting Parley's own process runs with (GATEWAY_V8_FLAGS in core/src/runtime.ts). It
// helps any Node proxy (this one's young-generation pauses too), so the ceiling gets it as
// well: the ratio then measures Parley's code, not a runtime setting only one side has.
setFlagsFromString('--no-allocation-site-pretenuring')

// The same pool shape as Parley's upstream agent with its defaults (no connection cap, 30 s keep-alive).
const agent = new Agent({ keepAliveTimeout: 30_000, connect: { timeout: 10_000 } })

const server = createServer((req, res) => {
  const headers: Record<string, string> = {
    authorization: UPSTREAM_KEY,
    'content-type': req.headers['content-type'] ?? 'application/json',
  }
  if (req.headers['content-length'] !== undefined) headers['content-length'] = req.headers['content-length']
  request(`${upstream}${req.url}`, {
    method: 'POST',
    headers,
    body: req,
    dispatcher: agent,
    headersTimeout: 0,
    bodyTimeout: 0,
  })
    .then(answer => {
      const type = answer.headers['content-type']
      res.writeHead(answer.statusCode, typeof type === 'string' ? { 'content-type': type } : {})
      // pipe(), not stream.pipeline(): the latter builds an AbortController and a DOMException per
      // request, which is measurable at this scale and not what a lean proxy would do.
      answer.body.once('error', () => res.destroy()).pipe(res)
      // A client gone mid-answer stops the upstream read, as any real proxy must.
      res.once('close', () => {
        if (!res.writableFinished) answer.body.destroy()
      })
    })
    .catch(() => {
      if (!res.headersSent) res.writeHead(502)
      res.end()
    })
})
server.keepAliveTimeout = 65_000
server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  announce(`http://127.0.0.1:${address.port}`)
})
onStop(async () => {
  await new Promise<void>(resolve => server.close(() => resolve()))
  await agent.close()
})
