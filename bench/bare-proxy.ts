/**
 * The ceiling for a proxy written in Node, the 1.0 of the ratios: `node:http` in front, undici
 * behind with a keep-alive pool, no framework, no auth, no parsing. It reads the small request
 * body into one buffer, sends it to the upstream with the upstream's key, and has undici's
 * `stream()` write the answer straight into the response as it arrives (no body stream object
 * between). Parley does strictly more per request than this, so the ratio of the two is
 * Parley's overhead. It uses the undici Parley uses (core's dependency), not the bench's own.
 */
import { createServer, type ServerResponse } from 'node:http'
import { setFlagsFromString } from 'node:v8'
import { announce, onStop } from './child.js'
import { UPSTREAM_KEY, parleyUndici } from './upstream-client.js'

const upstream = process.argv[2]
if (!upstream) throw new Error('usage: bare-proxy.ts <upstream origin>')

// The V8 setting Parley's own process runs with (GATEWAY_V8_FLAGS in core/src/runtime.ts). It
// helps any Node proxy (this one's young-generation pauses too), so the ceiling gets it as
// well: the ratio then measures Parley's code, not a runtime setting only one side has.
setFlagsFromString('--no-allocation-site-pretenuring')

const { Agent, stream } = parleyUndici()
// The same pool shape as Parley's upstream agent with its defaults (no connection cap, 30 s keep-alive).
const agent = new Agent({ keepAliveTimeout: 30_000, connect: { timeout: 10_000 } })

function failed(res: ServerResponse): void {
  if (!res.headersSent) res.writeHead(502)
  res.end()
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (chunk: Buffer) => chunks.push(chunk))
  req.on('end', () => {
    const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)
    stream(
      `${upstream}${req.url}`,
      {
        method: 'POST',
        headers: {
          authorization: UPSTREAM_KEY,
          'content-type': req.headers['content-type'] ?? 'application/json',
          'content-length': String(body.length),
        },
        body,
        dispatcher: agent,
        headersTimeout: 0,
        bodyTimeout: 0,
      },
      ({ statusCode, headers }) => {
        const type = headers['content-type']
        res.writeHead(statusCode, typeof type === 'string' ? { 'content-type': type } : {})
        return res
      },
    ).catch(() => failed(res))
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
