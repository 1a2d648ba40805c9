import t, { type Test } from 'tap'
import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { networkInterfaces } from 'node:os'
import { once } from 'node:events'
import { Agent, fetch, request } from 'undici'
import { ParleyError } from '../src/errors.js'
import {
  checkBaseUrl,
  createUpstreamAgent,
  forbiddenReason,
  type AddressPolicy,
  type HostLookup,
} from '../src/upstream/upstream-address.js'

const STRICT: AddressPolicy = { allowPrivate: false }
const LAN: AddressPolicy = { allowPrivate: true }
/** The operator's upstream.allow_loopback, alone and with the LAN setting. */
const LOOPBACK: AddressPolicy = { allowPrivate: false, allowLoopback: true }
const LOOPBACK_LAN: AddressPolicy = { allowPrivate: true, allowLoopback: true }
const PUBLIC_V4 = '93.184.215.14'
const PUBLIC_V6 = '2606:4700::6810:85e5'

/** A listener on every loopback address that records each connection and answers nothing. */
interface Sink {
  readonly port: number
  connections: number
  close(): Promise<void>
}

async function startSink(): Promise<Sink> {
  const servers: net.Server[] = []
  const sink = {
    port: 0,
    connections: 0,
    close: async () => {
      await Promise.all(servers.map(server => new Promise(resolve => server.close(resolve))))
    },
  }
  const listen = async (host: string, port: number): Promise<number> => {
    const server = net.createServer(socket => {
      sink.connections += 1
      socket.destroy()
    })
    server.listen(port, host)
    await once(server, 'listening')
    servers.push(server)
    return (server.address() as AddressInfo).port
  }
  sink.port = await listen('127.0.0.1', 0)
  // The same port on ::1, so that every IPv6 spelling of loopback would land here too.
  await listen('::1', sink.port).catch(() => undefined)
  return sink
}

const NAMES: Record<string, string[]> = {
  'sink.test': ['127.0.0.1'],
  'sink6.test': ['::1'],
  'mapped.test': ['::ffff:127.0.0.1'],
  'zero.test': ['0.0.0.0'],
  'mixed.test': [PUBLIC_V4, '10.0.0.1'],
  'mixed-loopback.test': [PUBLIC_V6, '127.0.0.1'],
  'metadata.google.internal': ['169.254.169.254'],
  '127.0.0.1.nip.io': ['127.0.0.1'],
  'example.com': [PUBLIC_V4],
  'api.openai.com': ['162.159.140.245', PUBLIC_V6],
}
const fakeLookup: HostLookup = async host => {
  const addresses = NAMES[host.toLowerCase()]
  if (addresses === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' })
  return addresses
}
/** fakeLookup plus what a system resolver answers for localhost names (RFC 6761). */
const hostsLookup: HostLookup = async host => {
  const name = host.toLowerCase().replace(/\.$/, '')
  return name === 'localhost' || name.endsWith('.localhost') ? ['127.0.0.1', '::1'] : fakeLookup(host)
}

/**
 * Forbidden base URLs; {P} is the sink's port. `agent` marks those with an http(s) host that a
 * request through the upstream agent must also be refused for; `lan` those allow_private opens;
 * `loopback` those whose host is this machine's loopback, which allowLoopback opens (`connect`:
 * at connect time only, the URL being refused at save for another reason).
 */
const CORPUS: ReadonlyArray<{ url: string; agent: boolean; lan?: boolean; loopback?: true | 'connect' }> = [
  // Loopback and its spellings
  { url: 'http://127.0.0.1:{P}/v1', agent: true, loopback: true },
  { url: 'http://127.1:{P}/', agent: true, loopback: true },
  { url: 'http://127.0.1:{P}/', agent: true, loopback: true },
  { url: 'http://127.255.255.254:{P}/', agent: true, loopback: true },
  { url: 'http://0x7f000001:{P}/', agent: true, loopback: true },
  { url: 'http://0x7f.0x0.0x0.0x1:{P}/', agent: true, loopback: true },
  { url: 'http://2130706433:{P}/', agent: true, loopback: true },
  { url: 'http://0177.0.0.1:{P}/', agent: true, loopback: true },
  { url: 'http://017700000001:{P}/', agent: true, loopback: true },
  { url: 'http://127.000.000.001:{P}/', agent: true, loopback: true },
  { url: 'http://127.0.0.1.:{P}/', agent: true, loopback: true },
  { url: 'http://%31%32%37.0.0.1:{P}/', agent: true, loopback: true },
  { url: 'http://１２７.０.０.１:{P}/', agent: true, loopback: true },
  { url: 'http://①②⑦.0.0.1:{P}/', agent: true, loopback: true },
  { url: 'HTTP://127.0.0.1:{P}/', agent: true, loopback: true },
  { url: 'http:\\\\127.0.0.1:{P}\\v1', agent: true, loopback: true },
  { url: ' http://127.0.0.1:{P}/\n', agent: true, loopback: true },
  { url: 'http://[::1]:{P}/', agent: true, loopback: true },
  { url: 'http://[0:0:0:0:0:0:0:1]:{P}/', agent: true, loopback: true },
  { url: 'http://[::ffff:127.0.0.1]:{P}/', agent: true, loopback: true },
  { url: 'http://[::ffff:7f00:1]:{P}/', agent: true, loopback: true },
  { url: 'http://[0:0:0:0:0:ffff:127.0.0.1]:{P}/', agent: true, loopback: true },
  { url: 'http://[::ffff:0:7f00:1]:{P}/', agent: true },
  { url: 'http://[::127.0.0.1]:{P}/', agent: true },
  { url: 'http://[64:ff9b::127.0.0.1]:{P}/', agent: true },
  { url: 'http://[2002:7f00:1::]:{P}/', agent: true },
  { url: 'http://[2001:0:4136:e378:8000:63bf:80ff:fffe]:{P}/', agent: true }, // Teredo to 127.0.0.1
  { url: 'http://localhost:{P}/', agent: true, loopback: true },
  { url: 'http://LOCALHOST.:{P}/', agent: true, loopback: true },
  { url: 'http://localhost。:{P}/', agent: true, loopback: true },
  { url: 'http://api.localhost:{P}/', agent: true, loopback: true },
  { url: 'http://sink.test:{P}/', agent: true, loopback: true },
  { url: 'https://sink.test:{P}/', agent: true, loopback: true }, // TLS sockets resolve through the same guard
  { url: 'https://[::1]:{P}/', agent: true, loopback: true },
  { url: 'http://sink6.test:{P}/', agent: true, loopback: true },
  { url: 'http://mapped.test:{P}/', agent: true, loopback: true },
  { url: 'http://127.0.0.1.nip.io:{P}/', agent: true, loopback: true },
  { url: 'http://mixed-loopback.test:{P}/', agent: true, loopback: true },
  // Unspecified: connecting to it reaches the local host
  { url: 'http://0.0.0.0:{P}/', agent: true },
  { url: 'http://0:{P}/', agent: true },
  { url: 'http://[::]:{P}/', agent: true },
  { url: 'http://zero.test:{P}/', agent: true },
  // Metadata services
  { url: 'http://169.254.169.254/latest/meta-data', agent: true },
  { url: 'http://2852039166/', agent: true },
  { url: 'http://0xa9fea9fe/', agent: true },
  { url: 'http://0251.0376.0251.0376/', agent: true },
  { url: 'http://[::ffff:169.254.169.254]/', agent: true },
  { url: 'http://[::ffff:a9fe:a9fe]/', agent: true },
  { url: 'http://169.254.170.2/v2/credentials', agent: true },
  { url: 'http://[fd00:ec2::254]/', agent: true },
  { url: 'http://100.100.100.200/', agent: true },
  { url: 'http://192.0.0.192/', agent: true },
  { url: 'http://168.63.129.16/', agent: true },
  { url: 'http://metadata.google.internal/computeMetadata/v1', agent: true },
  // Private, link-local, unique-local, CGNAT and the rest of the special ranges
  { url: 'http://10.0.0.1:{P}/', agent: true, lan: true },
  { url: 'http://172.16.0.1:{P}/', agent: true, lan: true },
  { url: 'http://172.31.255.255:{P}/', agent: true, lan: true },
  { url: 'http://192.168.1.1:{P}/', agent: true, lan: true },
  { url: 'http://100.64.0.1:{P}/', agent: true, lan: true },
  { url: 'http://[fc00::1]:{P}/', agent: true, lan: true },
  { url: 'http://[::ffff:10.0.0.1]:{P}/', agent: true, lan: true },
  { url: 'http://mixed.test:{P}/', agent: true, lan: true },
  { url: 'http://169.254.1.1:{P}/', agent: true },
  { url: 'http://[fe80::1]:{P}/', agent: true },
  { url: 'http://224.0.0.1:{P}/', agent: true },
  { url: 'http://[ff02::1]:{P}/', agent: true },
  { url: 'http://255.255.255.255:{P}/', agent: true },
  { url: 'http://240.0.0.1:{P}/', agent: true },
  { url: 'http://198.18.0.1:{P}/', agent: true },
  { url: 'http://192.0.2.1:{P}/', agent: true },
  { url: 'http://[2001:db8::1]:{P}/', agent: true },
  { url: 'http://[64:ff9b:1::a00:1]:{P}/', agent: true },
  // Not http(s), credentials, query, fragment, unparseable
  { url: 'file:///etc/passwd', agent: false },
  { url: 'ftp://example.com/', agent: false },
  { url: 'gopher://127.0.0.1:{P}/_GET%20/', agent: false },
  { url: 'ws://example.com/', agent: false },
  { url: 'data:text/plain,hello', agent: false },
  { url: 'javascript:alert(1)', agent: false },
  { url: 'http://user:pass@example.com/v1', agent: false },
  { url: 'http://example.com@127.0.0.1:{P}/', agent: true, loopback: 'connect' },
  { url: 'http://127.0.0.1:{P}#@example.com', agent: true, loopback: 'connect' },
  { url: 'http://example.com/v1?redirect=http://127.0.0.1', agent: false },
  { url: 'http://example.com:0/', agent: false },
  { url: '//example.com/v1', agent: false },
  { url: 'not a url', agent: false },
  { url: '', agent: false },
  { url: 'http://[::1%25lo]/', agent: false },
]

const codeOf = (error: unknown): string | undefined =>
  error instanceof ParleyError ? error.code : (error as { code?: string } | undefined)?.code

t.test('forbiddenReason names the range', async t => {
  const cases: Array<[string, string | undefined, string | undefined]> = [
    // [address, reason by default, reason with allowPrivate]
    ['127.0.0.1', 'loopback', 'loopback'],
    ['0.0.0.0', 'unspecified', 'unspecified'],
    ['10.1.2.3', 'private', undefined],
    ['172.20.0.1', 'private', undefined],
    ['192.168.0.10', 'private', undefined],
    ['100.64.0.1', 'carrier-grade NAT', undefined],
    ['169.254.169.254', 'metadata', 'metadata'],
    ['100.100.100.200', 'metadata', 'metadata'],
    ['192.0.0.192', 'metadata', 'metadata'],
    ['169.254.10.10', 'link-local', 'link-local'],
    ['224.0.0.251', 'multicast', 'multicast'],
    ['255.255.255.255', 'broadcast', 'broadcast'],
    ['203.0.113.9', 'reserved', 'reserved'],
    ['::1', 'loopback', 'loopback'],
    ['::', 'unspecified', 'unspecified'],
    ['fe80::1', 'link-local', 'link-local'],
    ['fe80::1%eth0', 'link-local', 'link-local'],
    ['fd12:3456::1', 'unique-local', undefined],
    ['fd00:ec2::254', 'metadata', 'metadata'],
    ['ff02::1', 'multicast', 'multicast'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback', 'IPv4-mapped loopback'],
    ['::ffff:a9fe:a9fe', 'IPv4-mapped metadata', 'IPv4-mapped metadata'],
    ['::ffff:10.0.0.1', 'IPv4-mapped private', undefined],
    ['::127.0.0.1', 'IPv4-compatible loopback', 'IPv4-compatible loopback'],
    ['::8.8.8.8', 'reserved', 'reserved'],
    ['64:ff9b::7f00:1', 'NAT64 loopback', 'NAT64 loopback'],
    ['2002:a9fe:a9fe::1', '6to4 metadata', '6to4 metadata'],
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'Teredo loopback', 'Teredo loopback'],
    ['2001:0:4136:e378:8000:63bf:f7f7:f7f7', 'reserved', 'reserved'],
    ['2001:db8::1', 'reserved', 'reserved'],
    ['[::1]', 'loopback', 'loopback'],
    ['example.com', 'invalid', 'invalid'],
    ['0x7f.1', 'invalid', 'invalid'],
    // Public addresses pass, in every spelling
    ['1.1.1.1', undefined, undefined],
    ['8.8.8.8', undefined, undefined],
    ['::ffff:1.1.1.1', undefined, undefined],
    ['64:ff9b::808:808', undefined, undefined],
    ['2002:808:808::1', undefined, undefined],
    [PUBLIC_V6, undefined, undefined],
  ]
  for (const [address, strict, lan] of cases) {
    t.equal(forbiddenReason(address, STRICT), strict, `${address} by default`)
    t.equal(forbiddenReason(address, LAN), lan, `${address} with allowPrivate`)
  }
})

t.test("allowLoopback opens this host's loopback and nothing else", async t => {
  const cases: Array<[string, string | undefined, string | undefined]> = [
    // [address, reason with allowLoopback, reason with allowLoopback and allowPrivate]
    ['127.0.0.1', undefined, undefined],
    ['127.0.0.2', undefined, undefined],
    ['127.255.255.254', undefined, undefined],
    ['::1', undefined, undefined],
    ['[::1]', undefined, undefined],
    ['::ffff:127.0.0.1', undefined, undefined],
    ['::ffff:7f00:1', undefined, undefined],
    // Unspecified reaches the local host too, but is never a server's address.
    ['0.0.0.0', 'unspecified', 'unspecified'],
    ['::', 'unspecified', 'unspecified'],
    ['::ffff:0.0.0.0', 'IPv4-mapped unspecified', 'IPv4-mapped unspecified'],
    // Link-local and metadata, in every form.
    ['169.254.169.254', 'metadata', 'metadata'],
    ['::ffff:169.254.169.254', 'IPv4-mapped metadata', 'IPv4-mapped metadata'],
    ['169.254.170.2', 'metadata', 'metadata'],
    ['100.100.100.200', 'metadata', 'metadata'],
    ['fd00:ec2::254', 'metadata', 'metadata'],
    ['fd20:ce::254', 'metadata', 'metadata'],
    ['169.254.10.10', 'link-local', 'link-local'],
    ['fe80::1', 'link-local', 'link-local'],
    ['fe80::1%lo', 'link-local', 'link-local'],
    // Forms that lead to 127.x on some other machine (a NAT64 or 6to4 gateway, a Teredo relay).
    ['::ffff:0:7f00:1', 'IPv4-translated loopback', 'IPv4-translated loopback'],
    ['::127.0.0.1', 'IPv4-compatible loopback', 'IPv4-compatible loopback'],
    ['64:ff9b::7f00:1', 'NAT64 loopback', 'NAT64 loopback'],
    ['2002:7f00:1::', '6to4 loopback', '6to4 loopback'],
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'Teredo loopback', 'Teredo loopback'],
    // Private ranges stay governed by allowPrivate alone.
    ['10.0.0.5', 'private', undefined],
    ['192.168.1.20', 'private', undefined],
    ['fd12::5', 'unique-local', undefined],
    ['::ffff:10.0.0.1', 'IPv4-mapped private', undefined],
    ['1.1.1.1', undefined, undefined],
  ]
  for (const [address, loopback, both] of cases) {
    t.equal(forbiddenReason(address, LOOPBACK), loopback, `${address} with allowLoopback`)
    t.equal(forbiddenReason(address, LOOPBACK_LAN), both, `${address} with allowLoopback and allowPrivate`)
  }
})

t.test('the WHATWG parser folds numeric IPv4 forms into dotted quads', async t => {
  for (const host of ['2130706433', '0x7f000001', '0x7f.1', '0177.0.0.1', '017700000001', '127.1', '１２７.０.０.１']) {
    t.equal(new URL(`http://${host}/`).hostname, '127.0.0.1', host)
  }
  t.equal(new URL('http://[0:0:0:0:0:ffff:127.0.0.1]/').hostname, '[::ffff:7f00:1]')
})

t.test('the SSRF corpus is refused at save time and at connect time, and the sink sees nothing', async t => {
  const sink = await startSink()
  t.teardown(sink.close)
  t.ok(CORPUS.length >= 40, `${CORPUS.length} corpus entries`)
  const strictAgent = createUpstreamAgent(STRICT, { lookup: fakeLookup, connectTimeoutMs: 2000 })
  const lanAgent = createUpstreamAgent(LAN, { lookup: fakeLookup, connectTimeoutMs: 2000 })
  t.teardown(() => Promise.all([strictAgent.close(), lanAgent.close()]))

  for (const entry of CORPUS) {
    const raw = entry.url.replaceAll('{P}', String(sink.port))
    for (const [policy, name] of [
      [STRICT, 'default'],
      [LAN, 'allowPrivate'],
    ] as const) {
      if (policy === LAN && entry.lan === true) continue
      const error = await checkBaseUrl(raw, policy, fakeLookup).then(
        () => undefined,
        (e: unknown) => e,
      )
      t.ok(error instanceof ParleyError, `checkBaseUrl refuses ${JSON.stringify(raw)} (${name})`)
      if (error instanceof ParleyError) {
        t.equal(error.statusCode, 400)
        t.equal(error.type, 'invalid_request')
        t.notMatch(error.message, /pass|user/, 'no credentials in the message')
      }
    }
    if (!entry.agent) continue
    const origin = new URL(raw).origin
    for (const agent of entry.lan === true ? [strictAgent] : [strictAgent, lanAgent]) {
      const failure = await request(`${origin}/v1/models`, { dispatcher: agent }).then(
        () => undefined,
        (e: unknown) => e,
      )
      t.equal(codeOf(failure), 'PARLEY_ERR_UPSTREAM_CONNECT_FORBIDDEN', `agent refuses ${origin}`)
    }
  }
  t.equal(sink.connections, 0, 'the sink saw no connection')
})

t.test("with allowLoopback the corpus is still refused but for this host's loopback, which is reached", async t => {
  const sink = await startSink()
  t.teardown(sink.close)
  const loopbackAgent = createUpstreamAgent(LOOPBACK, { lookup: hostsLookup, connectTimeoutMs: 2000 })
  const bothAgent = createUpstreamAgent(LOOPBACK_LAN, { lookup: hostsLookup, connectTimeoutMs: 2000 })
  t.teardown(() => Promise.all([loopbackAgent.close(), bothAgent.close()]))
  const attempt = (origin: string, agent: Agent) =>
    request(`${origin}/v1/models`, { dispatcher: agent }).then(
      () => undefined,
      (e: unknown) => e,
    )

  for (const entry of CORPUS.filter(e => e.loopback !== true)) {
    const raw = entry.url.replaceAll('{P}', String(sink.port))
    for (const [policy, name] of [
      [LOOPBACK, 'allowLoopback'],
      [LOOPBACK_LAN, 'allowLoopback and allowPrivate'],
    ] as const) {
      if (policy === LOOPBACK_LAN && entry.lan === true) continue
      const error = await checkBaseUrl(raw, policy, hostsLookup).then(
        () => undefined,
        (e: unknown) => e,
      )
      t.ok(error instanceof ParleyError, `checkBaseUrl refuses ${JSON.stringify(raw)} (${name})`)
      t.notMatch(
        (error as Error | undefined)?.message ?? '',
        /allow_loopback/,
        'no hint at the switch that is already on',
      )
    }
    if (!entry.agent || entry.loopback === 'connect') continue
    const origin = new URL(raw).origin
    for (const agent of entry.lan === true ? [loopbackAgent] : [loopbackAgent, bothAgent]) {
      t.equal(codeOf(await attempt(origin, agent)), 'PARLEY_ERR_UPSTREAM_CONNECT_FORBIDDEN', `agent refuses ${origin}`)
    }
  }
  t.equal(sink.connections, 0, 'the sink saw no connection from anything but loopback')

  for (const entry of CORPUS.filter(e => e.loopback !== undefined)) {
    const raw = entry.url.replaceAll('{P}', String(sink.port))
    if (entry.loopback === true) {
      for (const policy of [LOOPBACK, LOOPBACK_LAN]) {
        t.type(await checkBaseUrl(raw, policy, hostsLookup), URL, `checkBaseUrl admits ${JSON.stringify(raw)}`)
      }
    }
    const origin = new URL(raw).origin
    for (const agent of [loopbackAgent, bothAgent]) {
      t.not(
        codeOf(await attempt(origin, agent)),
        'PARLEY_ERR_UPSTREAM_CONNECT_FORBIDDEN',
        `agent connects to ${origin}`,
      )
    }
  }
  t.ok(sink.connections > 0, `the sink saw ${sink.connections} loopback connections`)
})

t.test('the sink does notice a connection from an unguarded agent', async t => {
  const sink = await startSink()
  t.teardown(sink.close)
  const plain = new Agent()
  t.teardown(() => plain.close())
  await request(`http://127.0.0.1:${sink.port}/`, { dispatcher: plain }).catch(() => undefined)
  t.equal(sink.connections, 1)
})

t.test('messages name the reason and point at the setting only when it would help', async t => {
  await t.rejects(checkBaseUrl('http://10.0.0.5/v1', STRICT), {
    code: 'PARLEY_ERR_UPSTREAM_ADDRESS_FORBIDDEN',
    message:
      'Base URL host 10.0.0.5 is refused (private address); LAN addresses need the allow_private_upstreams setting',
  })
  const loopbackHint =
    "; a model server on the gateway's own host needs the operator's upstream.allow_loopback config key (UPSTREAM_ALLOW_LOOPBACK=1)"
  await t.rejects(checkBaseUrl('http://[::ffff:127.0.0.1]/', STRICT), {
    message: `Base URL host [::ffff:7f00:1] is refused (IPv4-mapped loopback address)${loopbackHint}`,
  })
  await t.rejects(checkBaseUrl('http://localhost:11434/v1', LAN), {
    message: `Base URL host localhost is refused (loopback address)${loopbackHint}`,
  })
  await t.rejects(checkBaseUrl('http://[64:ff9b::7f00:1]/', STRICT), {
    message: 'Base URL host [64:ff9b::7f00:1] is refused (NAT64 loopback address)',
  })
  await t.rejects(checkBaseUrl('http://169.254.169.254/', STRICT), {
    message: 'Base URL host 169.254.169.254 is refused (metadata address)',
  })
  await t.rejects(checkBaseUrl('http://metadata.google.internal/', LOOPBACK_LAN, fakeLookup), {
    message: 'Base URL host metadata.google.internal is refused (metadata address)',
  })
  await t.rejects(checkBaseUrl('http://sk-secret:sk-secret@example.com/', STRICT, fakeLookup), {
    code: 'PARLEY_ERR_UPSTREAM_URL_INVALID',
    message: /^Base URL is not usable: credentials in the URL are not allowed/,
  })
  await t.rejects(checkBaseUrl('sk-secret:abc', STRICT), {
    message: 'Base URL is not usable: only http and https URLs are allowed',
  })
  await t.rejects(checkBaseUrl('https://nowhere.invalid/v1', STRICT, fakeLookup), {
    code: 'PARLEY_ERR_UPSTREAM_URL_INVALID',
    message: 'Base URL is not usable: host nowhere.invalid does not resolve',
  })
  await t.rejects(
    checkBaseUrl('https://empty.test/v1', STRICT, async () => []),
    { code: 'PARLEY_ERR_UPSTREAM_URL_INVALID' },
  )
})

t.test('public upstreams pass and keep their path', async t => {
  t.equal((await checkBaseUrl('https://api.openai.com/v1', STRICT, fakeLookup)).href, 'https://api.openai.com/v1')
  t.equal((await checkBaseUrl('https://API.OpenAI.com/v1/', STRICT, fakeLookup)).href, 'https://api.openai.com/v1/')
  t.equal((await checkBaseUrl('https://api.openai.com/v1?', STRICT, fakeLookup)).href, 'https://api.openai.com/v1')
  t.equal((await checkBaseUrl('https://1.1.1.1/v1', STRICT)).href, 'https://1.1.1.1/v1')
  t.equal(
    (await checkBaseUrl('http://[2606:4700:4700::1111]:8080/v1', STRICT)).href,
    'http://[2606:4700:4700::1111]:8080/v1',
  )
  t.equal((await checkBaseUrl('http://16843009/v1', STRICT)).href, 'http://1.1.1.1/v1')
})

t.test('allowPrivate admits LAN servers, never loopback or metadata', async t => {
  for (const raw of [
    'http://10.0.0.5:11434/v1',
    'http://192.168.1.20/v1',
    'http://172.16.5.4/v1',
    'http://100.64.3.2/v1',
    'http://[fd12::5]:8000/v1',
  ]) {
    t.equal((await checkBaseUrl(raw, LAN)).href, raw)
    await t.rejects(checkBaseUrl(raw, STRICT), { code: 'PARLEY_ERR_UPSTREAM_ADDRESS_FORBIDDEN' })
  }
  for (const raw of [
    'http://127.0.0.1:11434/v1',
    'http://localhost:11434/v1',
    'http://169.254.169.254/',
    'http://100.100.100.200/',
    'http://[fd00:ec2::254]/',
    'http://169.254.1.1/',
  ]) {
    await t.rejects(checkBaseUrl(raw, LAN), { code: 'PARLEY_ERR_UPSTREAM_ADDRESS_FORBIDDEN' }, raw)
  }
})

t.test('DNS rebinding: a name that turns to loopback after the check is refused at connect time', async t => {
  const sink = await startSink()
  t.teardown(sink.close)
  let calls = 0
  const rebinding: HostLookup = async () => (++calls === 1 ? [PUBLIC_V4] : ['127.0.0.1'])
  const url = await checkBaseUrl(`http://rebind.test:${sink.port}/v1`, STRICT, rebinding)
  t.equal(url.hostname, 'rebind.test', 'the save-time check passed')
  const agent = createUpstreamAgent(STRICT, { lookup: rebinding })
  t.teardown(() => agent.close())
  await t.rejects(request(`${url.origin}/v1/models`, { dispatcher: agent }), {
    code: 'PARLEY_ERR_UPSTREAM_CONNECT_FORBIDDEN',
    statusCode: 502,
    type: 'upstream_error',
    message: 'Upstream host rebind.test was refused at connect time (loopback address)',
  })
  t.equal(calls, 2)
  t.equal(sink.connections, 0)
})

/** An upstream on loopback; reaching it needs allowLoopback (the operator's upstream.allow_loopback). */
async function startUpstream(t: Test, handler: http.RequestListener): Promise<number> {
  const server = http.createServer(handler)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => new Promise(resolve => server.close(resolve)))
  return (server.address() as AddressInfo).port
}

t.test('the agent connects to the checked address, keeps the Host header and reuses connections', async t => {
  const hosts: string[] = []
  const sockets = new Set<unknown>()
  const port = await startUpstream(t, (req, res) => {
    hosts.push(req.headers.host ?? '')
    sockets.add(req.socket)
    res.end('ok')
  })
  let lookups = 0
  const lookup: HostLookup = async host => {
    lookups += 1
    return host === 'upstream.test' ? ['127.0.0.1'] : []
  }
  const agent = createUpstreamAgent(
    { allowPrivate: false, allowLoopback: true },
    { lookup, keepAliveTimeoutMs: 10_000, connections: 1 },
  )
  t.teardown(() => agent.close())
  for (let i = 0; i < 3; i += 1) {
    const response = await request(`http://upstream.test:${port}/v1/models`, { dispatcher: agent })
    t.equal(response.statusCode, 200)
    t.equal(await response.body.text(), 'ok')
  }
  t.same(hosts, Array(3).fill(`upstream.test:${port}`))
  t.equal(sockets.size, 1, 'one keep-alive connection')
  t.equal(lookups, 1, 'resolved once per connection')

  // The system resolver path: localhost comes from /etc/hosts.
  const system = createUpstreamAgent({ allowPrivate: false, allowLoopback: true })
  t.teardown(() => system.close())
  const viaSystem = await request(`http://localhost:${port}/`, { dispatcher: system })
  t.equal(await viaSystem.body.text(), 'ok')
})

t.test('redirects are returned, not followed', async t => {
  const sink = await startSink()
  t.teardown(sink.close)
  const port = await startUpstream(t, (req, res) => {
    const target = req.url === '/to-zero' ? `http://0.0.0.0:${sink.port}/` : `http://127.0.0.1:${sink.port}/`
    res.writeHead(302, { location: target }).end()
  })
  const lookup: HostLookup = async () => ['127.0.0.1']
  const agent = createUpstreamAgent({ allowPrivate: false, allowLoopback: true }, { lookup })
  t.teardown(() => agent.close())

  const response = await request(`http://upstream.test:${port}/v1/chat/completions`, {
    dispatcher: agent,
    method: 'POST',
    body: '{}',
  })
  t.equal(response.statusCode, 302)
  t.equal(response.headers.location, `http://127.0.0.1:${sink.port}/`)
  await response.body.dump()

  // fetch follows by default, yet each hop still passes the guard: 0.0.0.0 stays refused.
  const failure = await fetch(`http://upstream.test:${port}/to-zero`, { dispatcher: agent }).then(
    () => undefined,
    (e: unknown) => e,
  )
  t.equal(codeOf((failure as Error | undefined)?.cause), 'PARLEY_ERR_UPSTREAM_CONNECT_FORBIDDEN')
  const manual = await fetch(`http://upstream.test:${port}/`, { dispatcher: agent, redirect: 'manual' })
  t.equal(manual.status, 302)
  t.equal(sink.connections, 0)
})

// A LAN address of this machine, if it has one: allowPrivate must reach it without any escape.
const lanAddress = Object.values(networkInterfaces())
  .flat()
  .find(
    info =>
      info !== undefined &&
      !info.internal &&
      forbiddenReason(info.address, STRICT) !== undefined &&
      forbiddenReason(info.address, LAN) === undefined &&
      !info.address.startsWith('fe80'),
  )

t.test(
  'allowPrivate reaches a server on a LAN address through the agent',
  { skip: lanAddress === undefined ? 'no private interface address' : false },
  async t => {
    const address = lanAddress?.address ?? ''
    const server = http.createServer((_req, res) => res.end('lan'))
    server.listen(0, address)
    await once(server, 'listening')
    t.teardown(() => new Promise(resolve => server.close(resolve)))
    const port = (server.address() as AddressInfo).port
    const host = net.isIPv6(address) ? `[${address}]` : address
    const url = await checkBaseUrl(`http://${host}:${port}/v1`, LAN)
    const lan = createUpstreamAgent(LAN)
    const strict = createUpstreamAgent(STRICT)
    t.teardown(() => Promise.all([lan.close(), strict.close()]))
    t.equal(await (await request(url, { dispatcher: lan })).body.text(), 'lan')
    await t.rejects(request(url, { dispatcher: strict }), { code: 'PARLEY_ERR_UPSTREAM_CONNECT_FORBIDDEN' })
  },
)
