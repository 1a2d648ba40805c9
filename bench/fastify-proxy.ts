/**
 * The second reference: the same pass-through as the bare proxy, written as a Fastify route
 * the idiomatic way (the body kept as a buffer by a content-type parser, undici's `request()`,
 * the answer's body stream handed to `reply.send`). Parley is a Fastify application, so the
 * gap between this and the bare proxy is what the framework itself costs per request, and the
 * gap between this and Parley is Parley's own work. No logger, no hooks, no schema.
 */
import Fastify from 'fastify'
import { setFlagsFromString } from 'node:v8'
import { announce, onStop } from './child.js'
import { UPSTREAM_KEY, parleyUndici } from './upstream-client.js'

const upstream = process.argv[2]
if (!upstream) throw new Error('usage: fastify-proxy.ts <upstream origin>')

// As the bare proxy and Parley (GATEWAY_V8_FLAGS in core/src/runtime.ts).
setFlagsFromString('--no-allocation-site-pretenuring')

const { Agent, request } = parleyUndici()
const agent = new Agent({ keepAliveTimeout: 30_000, connect: { timeout: 10_000 } })

const app = Fastify({ logger: false, keepAliveTimeout: 65_000 })
app.removeContentTypeParser('application/json')
app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))
app.post('/v1/chat/completions', async (req, reply) => {
  const body = req.body as Buffer
  const answer = await request(`${upstream}${req.url}`, {
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
  })
  const type = answer.headers['content-type']
  reply.code(answer.statusCode)
  if (typeof type === 'string') reply.header('content-type', type)
  return reply.send(answer.body)
})

announce(await app.listen({ port: 0, host: '127.0.0.1' }))
onStop(async () => {
  await app.close()
  await agent.close()
})
