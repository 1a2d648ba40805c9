/*
 * A bounded fuzz run over every route the shipped gateway serves (config/default.yaml's plugins),
 * schemathesis-style: the routes come from the OpenAPI document (/docs/json) plus the hidden ones
 * Fastify lists (pages, assets, /metrics, storage), and each gets generated requests: bodies
 * built from the route's JSON schema, then mutated (wrong types, 1 MB strings, 10k-deep nesting,
 * unicode edge cases, extra fields, empty or invalid JSON, odd content types), path parameters
 * with traversal, long segments and broken percent-encoding, odd query strings; anonymously, as a
 * signed-in user, with the user's API key and as the admin.
 *
 * It asserts: no 5xx answer (each is printed with its request), every 4xx JSON answer is the
 * `{"error":{"type","message"}}` envelope, and the gateway stays responsive: a watchdog asks
 * /healthz every 50 ms over its own connection and no answer may take over 100 ms of the main
 * thread's own work (time the host did not schedule the process, or a GC pause, is reported but
 * not blamed: the fuzzer and the gateway share this process and CI runners are shared machines).
 *
 * FUZZ_SECONDS (default 60) bounds the run; FUZZ_SEED (default below) makes it reproducible.
 */
import http from 'node:http'
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import admin, { buildConsole } from '@parley/admin'
import { createChannel, createTestGateway, startMockUpstream, type TestGateway } from '@parley/core/testing'
import coze from '@parley/coze'
import identity from '@parley/identity'
import openai from '@parley/openai'
import portal, { buildClient } from '@parley/portal'
import rateLimit from '@parley/rate-limit'
import storageLocal from '@parley/storage-local'
import conversations from '@parley/conversations'
import modelConfigs from '@parley/model-configs'
import uploads from '@parley/uploads'
import widget, { buildWidget } from '@parley/widget'

const FUZZ_SECONDS = Number(process.env.FUZZ_SECONDS ?? 60)
const SEED = Number(process.env.FUZZ_SEED ?? 20261206)
const WORKERS = Number(process.env.FUZZ_WORKERS ?? 2)
const REQUEST_TIMEOUT_MS = 20_000
const HEALTH_EVERY_MS = 50
const HEALTH_BUDGET_MS = 100
/** Not `admin`: the fuzz sends look-alikes of that name, and failed sign-ins throttle the account. */
const ADMIN = { username: 'fuzzroot', password: 'fuzz-admin-password-0' }
const USER_PASSWORD = 'staple-battery-horse-9'
const MODEL = 'gpt-fuzz'
const MB = 1024 * 1024
/** Where the harness's own sign-ins come from (X-Forwarded-For); the fuzz itself is 127.0.0.1. */
const HARNESS_ADDRESS = '198.51.100.7'

/**
 * 5xx answers this suite found that are product bugs not fixed yet (product code is someone
 * else's change): matching answers are reported as a todo assertion with a reproducer instead
 * of failing the run. Remove an entry once its bug is fixed.
 */
const KNOWN_5XX: ReadonlyArray<{ readonly bug: string; readonly matches: (c: Case) => boolean }> = []

t.setTimeout((FUZZ_SECONDS + 180) * 1000)

// ---------------------------------------------------------------------------------------------
// Seeded randomness

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

class Dice {
  constructor(readonly next: () => number) {}
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T
  }
  chance(p: number): boolean {
    return this.next() < p
  }
  word(min = 1, max = 12): string {
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'
    let out = ''
    for (let i = this.int(min, max); i > 0; i--) out += alphabet[this.int(0, alphabet.length - 1)]
    return out
  }
}

// ---------------------------------------------------------------------------------------------
// Inputs

/** Strings that break naive handling: lone surrogates, RTL override, NUL, emoji, BOM, combining marks. */
const UNICODE = [
  '\ud800',
  '\udfff',
  'a\ud83dz',
  '\u202egnp.exe',
  'nul\u0000byte',
  '\u0000',
  '😀'.repeat(50),
  '👩‍👩‍👧‍👦🏳️‍🌈',
  '\ufeffbom',
  'e\u0301\u0301\u0301',
  'İıßẞ',
  '\u200b\u200c\u200d',
  '\u2028\u2029',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  '${jndi:ldap://x}',
  '{{7*7}}',
  '../../../../etc/passwd',
  'Ａｄｍｉｎ',
  'аdmin',
]

const PATH_VALUES = [
  '..',
  '../..',
  '..%2F..%2F..%2Fetc%2Fpasswd',
  '%2e%2e%2f%2e%2e%2fpackage.json',
  '....//....//etc/passwd',
  '..\\..\\windows',
  'a'.repeat(10_000),
  '%',
  '%zz',
  '%E0%A4%A',
  '%C0%AF',
  '%ED%A0%80',
  '%00',
  '%0d%0aSet-Cookie:%20x=1',
  '-1',
  '0',
  '1',
  '2',
  '99999999999999999999999',
  '1e3',
  '0x10',
  'NaN',
  'null',
  '__proto__',
  'constructor',
  '%F0%9F%98%80',
  '%E2%80%AE',
  '1;DROP%20TABLE%20users',
  'default',
  MODEL,
]

const QUERY_VALUES = [
  '-1',
  '0',
  '1e309',
  '99999999999999999999',
  'NaN',
  '',
  '%',
  '%zz',
  '%00',
  'x'.repeat(100_000),
  '[]',
  '{"a":1}',
  'true',
  '2026-13-45T99:99:99Z',
]

const CONTENT_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'multipart/form-data; boundary=x',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'application/xml',
  'application/octet-stream',
  'application/json, text/plain',
  'application/vnd.api+json',
  ';;;',
  'application/json; boundary="',
]

const INVALID_JSON = [
  '{',
  '{"a":',
  '{,}',
  "{'a':1}",
  '[1,2',
  'nul',
  'undefined',
  '{"a":1}}',
  '\u0000',
  '"\\ud800"',
  '{"a":"\\u00"}',
  '1e99999',
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
]

function deepJson(levels: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? '['.repeat(levels) + ']'.repeat(levels) : '{"a":'.repeat(levels) + '1' + '}'.repeat(levels)
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
interface Schema {
  type?: string | string[]
  properties?: Record<string, Schema>
  required?: string[]
  items?: Schema
  anyOf?: Schema[]
  oneOf?: Schema[]
  allOf?: Schema[]
  enum?: Json[]
  const?: Json
  minimum?: number
  maximum?: number
  minLength?: number
  maxLength?: number
  minItems?: number
  maxItems?: number
  format?: string
  default?: Json
}

interface Context {
  readonly upstreamUrl: string
}

/** A value that satisfies the schema as well as a simple generator can (patterns are not solved). */
function generate(schema: Schema | undefined, dice: Dice, ctx: Context, key = '', depth = 0): Json {
  if (!schema || depth > 6) return dice.word()
  if (schema.const !== undefined) return schema.const
  if (schema.enum) return dice.pick(schema.enum)
  const alternatives = schema.anyOf ?? schema.oneOf
  if (alternatives?.length) return generate(dice.pick(alternatives), dice, ctx, key, depth + 1)
  if (schema.allOf?.length) return generate(Object.assign({}, ...schema.allOf) as Schema, dice, ctx, key, depth + 1)
  const type = Array.isArray(schema.type)
    ? dice.pick(schema.type)
    : (schema.type ?? (schema.properties ? 'object' : 'string'))
  switch (type) {
    case 'object': {
      const out: Record<string, Json> = {}
      for (const [name, sub] of Object.entries(schema.properties ?? {})) {
        if (schema.required?.includes(name) || dice.chance(0.6)) out[name] = generate(sub, dice, ctx, name, depth + 1)
      }
      return out
    }
    case 'array': {
      const length = dice.int(schema.minItems ?? 0, Math.min(schema.maxItems ?? 3, 3))
      return Array.from({ length }, () => generate(schema.items, dice, ctx, key, depth + 1))
    }
    case 'integer':
    case 'number': {
      const min = schema.minimum ?? -5
      const max = Math.min(schema.maximum ?? 1000, min + 1000)
      const value = dice.int(Math.ceil(min), Math.floor(max))
      return type === 'number' && dice.chance(0.3) ? value + 0.5 : value
    }
    case 'boolean':
      return dice.chance(0.5)
    case 'null':
      return null
    default:
      return stringFor(schema, dice, ctx, key)
  }
}

/** Plausible strings for the fields that matter (a working base URL, the model, an address no test uses). */
function stringFor(schema: Schema, dice: Dice, ctx: Context, key: string): string {
  if (/email/i.test(key) || schema.format === 'email') return `fz-${dice.word(4, 8)}@example.com`
  if (/password/i.test(key)) return dice.chance(0.8) ? USER_PASSWORD : dice.word(1, 8)
  if (key === 'base_url' || schema.format === 'uri') return ctx.upstreamUrl
  if (key === 'model' || (key === 'name' && dice.chance(0.3))) return MODEL
  if (/ip/.test(key)) return `203.0.113.${dice.int(1, 254)}`
  if (key === 'role') return dice.pick(['user', 'assistant', 'system', 'admin', 'root'])
  const min = schema.minLength ?? 1
  const max = Math.max(min, Math.min(schema.maxLength ?? 16, 16))
  return dice.word(min, max)
}

/** Bodies a data-plane call needs to reach the upstream at all. */
function plausibleBody(route: string, dice: Dice): Record<string, Json> {
  if (route.endsWith('/chat/completions'))
    return { model: MODEL, messages: [{ role: 'user', content: dice.word() }], stream: dice.chance(0.5) }
  if (route.endsWith('/responses')) return { model: MODEL, input: dice.word(), stream: dice.chance(0.5) }
  return {}
}

/** Every leaf path of a JSON value, to mutate one field. */
function leaves(value: Json, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (value === null || typeof value !== 'object') return [prefix]
  const entries: Array<[string | number, Json]> = Array.isArray(value)
    ? value.map((item, index) => [index, item])
    : Object.entries(value)
  if (entries.length === 0) return [prefix]
  return entries.flatMap(([k, v]) => leaves(v, [...prefix, k]))
}

function setAt(root: Json, at: Array<string | number>, value: Json): Json {
  if (at.length === 0) return value
  let node = root as Record<string | number, Json>
  for (const step of at.slice(0, -1)) node = node[step] as Record<string | number, Json>
  node[at[at.length - 1] as string | number] = value
  return root
}

function wrongType(value: Json, dice: Dice): Json {
  const options: Json[] = [null, true, 0, -1, 1.5, 1e308, '', 'x', [], [1, 'a'], {}, { a: { b: 1 } }]
  return dice.pick(
    options.filter(option => typeof option !== typeof value || Array.isArray(option) !== Array.isArray(value)),
  )
}

// ---------------------------------------------------------------------------------------------
// Routes

interface Route {
  /** The pattern as Fastify has it: `/api/admin/channels/:id`. */
  readonly pattern: string
  readonly method: string
  readonly body?: Schema
  readonly query: ReadonlyArray<{ name: string; schema: Schema; required: boolean }>
  readonly hidden: boolean
}

interface OpenApi {
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: Array<{ in: string; name: string; required?: boolean; schema: Schema }>
        requestBody?: { content?: Record<string, { schema?: Schema }> }
      }
    >
  >
}

/** `printRoutes({ commonPrefix: false })` is a tree: each line adds its segment to its parent's path. */
function parseRouteTree(tree: string): Array<{ pattern: string; methods: string[] }> {
  const stack: string[] = []
  const out: Array<{ pattern: string; methods: string[] }> = []
  for (const line of tree.split('\n')) {
    const match = /^(.*?)(?:├──|└──) (.*) \(([A-Z, ]+)\)$/.exec(line)
    if (!match) continue
    const depth = Math.round([...(match[1] as string)].length / 4)
    stack.length = depth
    const pattern = (stack[depth - 1] ?? '') + (match[2] as string)
    stack[depth] = pattern
    out.push({ pattern, methods: (match[3] as string).split(', ') })
  }
  return out
}

async function listRoutes(gateway: TestGateway, url: string): Promise<Route[]> {
  const doc = (await (await fetch(`${url}/docs/json`)).json()) as OpenApi
  const routes = new Map<string, Route>()
  for (const [openPath, operations] of Object.entries(doc.paths)) {
    const pattern = openPath.replace(/\{\*\}/g, '*').replace(/\{(\w+)\}/g, ':$1')
    for (const [method, operation] of Object.entries(operations)) {
      const query = (operation.parameters ?? [])
        .filter(p => p.in === 'query')
        .map(p => ({ name: p.name, schema: p.schema, required: p.required === true }))
      const body = operation.requestBody?.content?.['application/json']?.schema
      routes.set(`${method.toUpperCase()} ${pattern}`, {
        pattern,
        method: method.toUpperCase(),
        body,
        query,
        hidden: false,
      })
    }
  }
  for (const { pattern, methods } of parseRouteTree(gateway.http.printRoutes({ commonPrefix: false }))) {
    for (const method of methods) {
      if (method === 'HEAD' && routes.has(`GET ${pattern}`)) continue
      if (!routes.has(`${method} ${pattern}`))
        routes.set(`${method} ${pattern}`, { pattern, method, query: [], hidden: true })
    }
  }
  // What ends the fuzzer's own sessions goes last in each round.
  const last = (route: Route) => (/logout|password|regenerate|\/api\/tokens\/:id$/.test(route.pattern) ? 1 : 0)
  return [...routes.values()].sort(
    (a, b) => last(a) - last(b) || a.pattern.localeCompare(b.pattern) || a.method.localeCompare(b.method),
  )
}

// ---------------------------------------------------------------------------------------------
// Requests

interface Case {
  readonly id: number
  readonly route: Route
  readonly caller: string
  readonly mutation: string
  readonly method: string
  readonly path: string
  readonly headers: Record<string, string>
  readonly body: Buffer | undefined
}

interface Answer {
  readonly status: number
  readonly contentType: string
  readonly body: string
  readonly ms: number
}

function send(
  url: string,
  agent: http.Agent,
  request: Pick<Case, 'method' | 'path' | 'headers' | 'body'>,
  timeoutMs = REQUEST_TIMEOUT_MS,
): Promise<Answer> {
  const started = performance.now()
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...request.headers }
    if (request.body !== undefined) headers['content-length'] = String(request.body.length)
    const outgoing = http.request(
      { hostname, port, method: request.method, path: request.path, headers, agent, timeout: timeoutMs },
      response => {
        const chunks: Buffer[] = []
        let size = 0
        response.on('data', (chunk: Buffer) => {
          if (size < 256 * 1024) chunks.push(chunk)
          size += chunk.length
        })
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            contentType: String(response.headers['content-type'] ?? ''),
            body: Buffer.concat(chunks).toString('utf8'),
            ms: performance.now() - started,
          }),
        )
        response.on('error', reject)
      },
    )
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${timeoutMs} ms`)))
    outgoing.on('error', reject)
    outgoing.end(request.body)
  })
}

function describe(c: Case): string {
  const body =
    c.body === undefined
      ? '(none)'
      : c.body.length > 300
        ? `${JSON.stringify(c.body.subarray(0, 200).toString('utf8'))}… (${c.body.length} bytes)`
        : JSON.stringify(c.body.toString('utf8'))
  const path = c.path.length > 300 ? `${c.path.slice(0, 200)}… (${c.path.length} chars)` : c.path
  const headers = Object.fromEntries(
    Object.entries(c.headers).map(([k, v]) => [
      k,
      k === 'authorization' || k === 'x-api-key' ? `<${c.caller} token>` : v,
    ]),
  )
  return `FUZZ_SEED=${SEED} case #${c.id} [${c.mutation}, as ${c.caller}]: ${c.method} ${path} headers=${JSON.stringify(headers)} body=${body}`
}

/** A path for the pattern with its parameters filled: mostly plausible, sometimes hostile. */
function fillPath(pattern: string, dice: Dice, hostile: boolean): string {
  const filled = pattern.replace(/:(\w+)|\*/g, (_, name: string | undefined) => {
    if (hostile) return dice.pick(PATH_VALUES)
    if (name === 'id') return String(dice.int(1, 4))
    if (name === 'file') return dice.pick(['app.js', 'app.css', 'nope.js', 'index.html'])
    if (name === 'name' || name === 'group') return dice.pick(['default', MODEL, 'fuzz', 'retention'])
    return dice.pick(['a/b.txt', 'x', 'uploads/1.png'])
  })
  // The bootstrap admin (user 1) is the fuzzer's own way back in: renaming or disabling it would
  // end the run, not find a bug.
  return /^\/api\/admin\/users\/1(?:$|\/)/.test(filled) ? filled.replace('/users/1', '/users/2') : filled
}

/** `encodeURIComponent`, except that lone surrogates (which it refuses) go out as raw broken UTF-8. */
function encode(value: string): string {
  try {
    return encodeURIComponent(value)
  } catch {
    return value.replace(/[^A-Za-z0-9]/g, ch => '%' + ch.charCodeAt(0).toString(16).padStart(2, '0').slice(-2))
  }
}

function queryString(route: Route, dice: Dice, ctx: Context, hostile: boolean): string {
  const pairs: string[] = []
  for (const param of route.query) {
    if (!param.required && !dice.chance(0.5)) continue
    const value =
      hostile && dice.chance(0.5) ? dice.pick(QUERY_VALUES) : String(generate(param.schema, dice, ctx, param.name))
    pairs.push(`${encode(param.name)}=${encode(value)}`)
    if (hostile && dice.chance(0.3)) pairs.push(`${encode(param.name)}=${encode(dice.pick(QUERY_VALUES))}`) // the same key twice: an array
  }
  if (hostile) {
    pairs.push(
      dice.pick([
        'page[$gt]=1',
        'a[]=1&a[]=2',
        `x=${'y'.repeat(100_000)}`,
        '%zz=%zz',
        '__proto__[polluted]=1',
        'constructor.prototype.polluted=1',
        `${encode(dice.pick(UNICODE))}=1`,
        '&&&==&',
      ]),
    )
  }
  return pairs.length ? `?${pairs.join('&')}` : ''
}

const MUTATIONS = [
  'valid',
  'valid',
  'wrong-type',
  'huge-string',
  'deep-nesting',
  'unicode',
  'extra-fields',
  'empty-body',
  'invalid-json',
  'content-type',
  'path',
  'query',
  'raw-bytes',
] as const

function makeCase(id: number, route: Route, caller: string, token: string | undefined, dice: Dice, ctx: Context): Case {
  const mutation = dice.pick(MUTATIONS)
  const headers: Record<string, string> = {}
  if (token !== undefined) {
    if (caller === 'api-key' && dice.chance(0.5)) headers['x-api-key'] = token
    else headers.authorization = `Bearer ${token}`
  }
  const path = fillPath(route.pattern, dice, mutation === 'path') + queryString(route, dice, ctx, mutation === 'query')
  const takesBody =
    route.method === 'POST' || route.method === 'PUT' || route.method === 'PATCH' || route.method === 'DELETE'
  let body: Buffer | undefined
  let value: Json = {
    ...(generate(route.body ?? { type: 'object' }, dice, ctx) as Record<string, Json>),
    ...plausibleBody(route.pattern, dice),
  }
  switch (mutation) {
    case 'wrong-type': {
      const at = dice.pick(leaves(value))
      value = at.length === 0 ? wrongType(value, dice) : setAt(value, at, wrongType(null, dice))
      break
    }
    case 'huge-string':
      value = setAt(value, dice.pick(leaves(value)), 'x'.repeat(MB))
      break
    case 'unicode':
      for (const at of leaves(value))
        if (at.length > 0 && dice.chance(0.7)) value = setAt(value, at, dice.pick(UNICODE))
      break
    case 'extra-fields':
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        value = {
          ...value,
          [dice.word()]: dice.word(),
          [dice.pick(UNICODE)]: 1,
          isAdmin: true,
          role: 'root',
          user_id: 1,
          group: 'admin',
        }
      }
      break
    default:
      break
  }
  // Renaming the bootstrap admin would lock the fuzzer out (no password is asked for a rename).
  if (
    caller === 'admin' &&
    route.pattern === '/api/users/me/username' &&
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof value.username === 'string'
  ) {
    value.username = ADMIN.username
  }
  if (
    takesBody ||
    mutation === 'empty-body' ||
    mutation === 'invalid-json' ||
    mutation === 'deep-nesting' ||
    mutation === 'raw-bytes' ||
    dice.chance(0.05)
  ) {
    headers['content-type'] = 'application/json'
    switch (mutation) {
      case 'empty-body':
        body = dice.chance(0.5) ? Buffer.alloc(0) : undefined
        break
      case 'invalid-json':
        body = Buffer.from(dice.pick(INVALID_JSON))
        break
      case 'deep-nesting': {
        const deep = deepJson(10_000, dice.pick(['array', 'object'] as const))
        const at = dice.pick(leaves(value))
        body = Buffer.from(
          at.length === 0
            ? deep
            : JSON.stringify(setAt(value, at, '\u0001DEEP\u0001')).replace('"\\u0001DEEP\\u0001"', deep),
        )
        break
      }
      case 'raw-bytes':
        // Invalid UTF-8 inside a JSON string, and a BOM before it.
        body = Buffer.concat([
          Buffer.from(dice.chance(0.5) ? [0xef, 0xbb, 0xbf] : []),
          Buffer.from('{"model":"'),
          Buffer.from([0xff, 0xfe, 0xc0, 0xaf, 0xed, 0xa0, 0x80]),
          Buffer.from('"}'),
        ])
        break
      case 'content-type':
        headers['content-type'] = dice.pick(CONTENT_TYPES)
        body = Buffer.from(dice.chance(0.5) ? JSON.stringify(value) : `a=1&b=${encode(dice.pick(UNICODE))}`)
        break
      default:
        body = Buffer.from(JSON.stringify(value))
    }
    if (body === undefined) delete headers['content-type']
  }
  if (dice.chance(0.05)) headers.accept = dice.pick(['text/event-stream', '*/*', 'application/xml', 'text/html'])
  if (dice.chance(0.05)) headers['accept-language'] = dice.pick(['zh-CN', 'xx', '*;q=0.1,en;q=abc', 'a'.repeat(2000)])
  return { id, route, caller, mutation, method: route.method, path, headers, body }
}

// ---------------------------------------------------------------------------------------------
// The run

interface Credentials {
  user?: string
  apiKey?: string
  admin?: string
}

async function json(
  url: string,
  method: string,
  path: string,
  payload: unknown,
  token?: string,
): Promise<{ status: number; data: Record<string, unknown> }> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      'content-type': 'application/json',
      'x-forwarded-for': HARNESS_ADDRESS,
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: payload === undefined ? undefined : JSON.stringify(payload),
  })
  const text = await response.text()
  return { status: response.status, data: text ? (JSON.parse(text) as Record<string, unknown>) : {} }
}

let userCount = 0
/** Signs in (again) whoever the fuzzer signed out, disabled, or whose token it deleted. */
async function refreshCredentials(url: string, credentials: Credentials): Promise<void> {
  if (!credentials.admin || (await json(url, 'GET', '/api/users/me', undefined, credentials.admin)).status !== 200) {
    const login = await json(url, 'POST', '/api/auth/admin/login', ADMIN)
    if (login.status !== 200) throw new Error(`admin login: ${login.status} ${JSON.stringify(login.data)}`)
    credentials.admin = login.data.access_token as string
  }
  if (!credentials.user || (await json(url, 'GET', '/api/users/me', undefined, credentials.user)).status !== 200) {
    const name = `fuzzer${++userCount}`
    const email = `${name}@example.com`
    let pair = await json(url, 'POST', '/api/auth/register', {
      email,
      username: name,
      password: USER_PASSWORD,
      password_confirm: USER_PASSWORD,
    })
    if (pair.status !== 201) {
      // Registration closed or throttled by the fuzz itself: the admin creates the account.
      const created = await json(
        url,
        'POST',
        '/api/admin/users',
        { email, username: name, password: USER_PASSWORD },
        credentials.admin,
      )
      if (created.status !== 201) throw new Error(`user ${name}: ${created.status} ${JSON.stringify(created.data)}`)
      pair = await json(url, 'POST', '/api/auth/login', { email, password: USER_PASSWORD })
    }
    if (pair.status !== 200 && pair.status !== 201)
      throw new Error(`user ${name} login: ${pair.status} ${JSON.stringify(pair.data)}`)
    credentials.user = pair.data.access_token as string
    credentials.apiKey = undefined
  }
  if (!credentials.apiKey || (await json(url, 'GET', '/v1/models', undefined, credentials.apiKey)).status !== 200) {
    const created = await json(url, 'POST', '/api/tokens', { name: `fuzz-${Date.now()}` }, credentials.user)
    if (created.status !== 201) throw new Error(`api token: ${created.status} ${JSON.stringify(created.data)}`)
    credentials.apiKey = created.data.token as string
  }
}

t.before(async () => {
  // What `npm run build` does for the front ends; the pages link these bundles.
  await Promise.all([buildClient(), buildConsole(), buildWidget()])
})

t.test(`fuzz every route for ${FUZZ_SECONDS} s (FUZZ_SEED=${SEED})`, async t => {
  const upstream = await startMockUpstream({ models: [MODEL] })
  t.teardown(() => upstream.close())
  const gateway = await createTestGateway({
    // config/default.yaml's plugins, in its order.
    plugins: [
      identity,
      openai,
      coze,
      rateLimit,
      storageLocal,
      uploads,
      modelConfigs,
      conversations,
      widget,
      portal,
      admin,
    ],
    listen: true,
    // Limits high enough that the fuzz reaches the handlers rather than the rate limiter.
    // The harness signs in from its own address (behind the trusted loopback proxy): the fuzz's
    // failed sign-ins from 127.0.0.1 throttle that address, as they should, not the harness.
    config: {
      admin: ADMIN,
      server: { trust_proxy: ['127.0.0.1'] },
      settings: { guest_rpm: 1_000_000, user_rpm: 1_000_000 },
    },
  })
  t.teardown(gateway.close)
  const url = gateway.url as string
  const credentials: Credentials = {}
  await refreshCredentials(url, credentials)
  await createChannel(
    gateway,
    { name: 'fuzz-upstream', base_url: upstream.url, keys: ['sk-fuzz'], models: [MODEL] },
    credentials.admin,
  )

  const routes = await listRoutes(gateway, url)
  t.ok(
    routes.length > 50,
    `${routes.length} routes (${routes.filter(r => r.hidden).length} hidden from the OpenAPI document)`,
  )
  t.ok(
    routes.some(r => r.pattern === '/v1/chat/completions'),
    'the data plane is listed',
  )
  t.ok(
    routes.some(r => r.pattern === '/metrics'),
    'hidden routes are listed',
  )
  for (const pattern of [
    '/api/uploads/presign',
    '/api/model-configs',
    '/api/conversations',
    '/api/internal/session/create',
  ])
    t.ok(
      routes.some(r => r.pattern === pattern),
      `${pattern} is listed`,
    )

  // The watchdog: its own connection, /healthz every 50 ms, and the event loop's own delay.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 })
  loopDelay.enable()
  // Garbage collection pauses, to tell a stalled handler from a collector pause.
  const gcPauses: Array<{ start: number; ms: number }> = []
  const gcObserver = new PerformanceObserver(list => {
    for (const entry of list.getEntries()) gcPauses.push({ start: entry.startTime, ms: entry.duration })
  })
  gcObserver.observe({ entryTypes: ['gc'] })
  const healthAgent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const slowHealth: Array<{
    at: number
    ms: number
    status: number | string
    cpuMs: number
    gcMs: number
    inFlight: string[]
  }> = []
  /** What the fuzzer had on the wire, to tell which request a slow /healthz waited behind. */
  const inFlight = new Set<Case>()
  const label = (c: Case) => `#${c.id} ${c.mutation} ${c.method} ${c.route.pattern} as ${c.caller}`
  let worstHealth = 0
  let healthChecks = 0
  let running = true
  const runStarted = performance.now()
  const watchdog = (async () => {
    while (running) {
      const during = new Set(inFlight)
      const checkStarted = performance.now()
      const cpuBefore = process.threadCpuUsage()
      const answer = await send(
        url,
        healthAgent,
        { method: 'GET', path: '/healthz', headers: {}, body: undefined },
        10_000,
      ).then(
        a => ({ ms: a.ms, status: a.status as number | string }),
        (error: Error) => ({ ms: 10_000, status: error.message }),
      )
      healthChecks++
      worstHealth = Math.max(worstHealth, answer.ms)
      if (answer.ms > HEALTH_BUDGET_MS || answer.status !== 200) {
        for (const c of inFlight) during.add(c)
        const cpu = process.threadCpuUsage(cpuBefore)
        slowHealth.push({
          at: Math.round(checkStarted - runStarted),
          ...answer,
          cpuMs: Math.round((cpu.user + cpu.system) / 1000),
          gcMs: 0,
          inFlight: [...during].map(label),
        })
      }
      await sleep(HEALTH_EVERY_MS)
    }
  })()

  const agent = new http.Agent({ keepAlive: true, maxSockets: WORKERS })
  const deadline = performance.now() + FUZZ_SECONDS * 1000
  const fiveXX: Array<{ c: Case; answer: Answer }> = []
  const badEnvelope: Array<{ c: Case; answer: Answer }> = []
  const errors: Array<{ c: Case; error: string }> = []
  const statuses = new Map<number, number>()
  const callers: Array<[string, keyof Credentials | undefined]> = [
    ['anonymous', undefined],
    ['user', 'user'],
    ['api-key', 'apiKey'],
    ['admin', 'admin'],
  ]
  let sent = 0
  let rounds = 0
  let nextId = 0

  try {
    while (performance.now() < deadline) {
      rounds++
      await refreshCredentials(url, credentials)
      // One round: every route × method × caller, spread over the workers, each case with its own seed.
      const queue: Array<() => Case> = []
      for (const route of routes) {
        for (const [caller, key] of callers) {
          const id = nextId++
          queue.push(() =>
            makeCase(
              id,
              route,
              caller,
              key ? credentials[key] : undefined,
              new Dice(prng(SEED ^ Math.imul(id, 0x9e3779b1))),
              { upstreamUrl: upstream.url },
            ),
          )
        }
      }
      await Promise.all(
        Array.from({ length: WORKERS }, async () => {
          for (let next = queue.shift(); next && performance.now() < deadline; next = queue.shift()) {
            const c = next()
            let answer: Answer
            inFlight.add(c)
            try {
              answer = await send(url, agent, c)
            } catch (error) {
              // A malformed request line or headers get a JSON error from the server's parser hook,
              // which cannot know the method: a HEAD client then finds a body it did not expect.
              if (c.method === 'HEAD' && /Data after `Connection: close`/.test((error as Error).message)) continue
              // The client refusing to send (e.g. a path Node will not put on the wire) is no finding.
              if (
                error instanceof TypeError ||
                (error as { code?: string }).code === 'ERR_UNESCAPED_CHARACTERS' ||
                (error as { code?: string }).code === 'ERR_INVALID_CHAR'
              )
                continue
              errors.push({ c, error: (error as Error).message })
              continue
            } finally {
              inFlight.delete(c)
            }
            sent++
            statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1)
            if (answer.status >= 500) fiveXX.push({ c, answer })
            else if (answer.status >= 400 && c.method !== 'HEAD' && /json/.test(answer.contentType)) {
              let ok = false
              try {
                const error = (JSON.parse(answer.body) as { error?: { type?: unknown; message?: unknown } }).error
                ok = typeof error?.type === 'string' && typeof error.message === 'string'
              } catch {
                ok = false
              }
              if (!ok) badEnvelope.push({ c, answer })
            }
          }
        }),
      )
    }
  } finally {
    running = false
    await watchdog
    loopDelay.disable()
    gcObserver.disconnect()
    agent.destroy()
    healthAgent.destroy()
  }

  // GC entries arrive late: attribute them once the run is over.
  for (const slow of slowHealth) {
    const from = runStarted + slow.at
    slow.gcMs = Math.round(
      gcPauses.filter(gc => gc.start + gc.ms >= from && gc.start <= from + slow.ms).reduce((sum, gc) => sum + gc.ms, 0),
    )
  }
  const seconds = ((performance.now() - runStarted) / 1000).toFixed(1)
  t.comment(
    `${sent} requests in ${seconds} s over ${rounds} rounds, ${routes.length} routes × ${callers.length} callers; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`,
  )
  t.comment(
    `watchdog: ${healthChecks} /healthz checks, worst ${worstHealth.toFixed(1)} ms; event loop delay max ${(loopDelay.max / 1e6).toFixed(1)} ms, p99 ${(loopDelay.percentile(99) / 1e6).toFixed(1)} ms`,
  )
  t.comment(
    `garbage collection: ${gcPauses.length} pauses, ${Math.round(gcPauses.reduce((sum, gc) => sum + gc.ms, 0))} ms in all, longest ${Math.max(0, ...gcPauses.map(gc => gc.ms)).toFixed(1)} ms`,
  )
  t.comment(
    `5xx answers: ${fiveXX.length}; malformed 4xx envelopes: ${badEnvelope.length}; transport errors: ${errors.length}`,
  )

  const known = (c: Case) => KNOWN_5XX.find(entry => entry.matches(c))?.bug
  const unexpected = fiveXX.filter(({ c }) => !known(c))
  const todo = fiveXX.filter(({ c }) => known(c))
  for (const bug of new Set(todo.map(({ c }) => known(c)))) {
    const cases = todo.filter(({ c }) => known(c) === bug)
    const routes = [...new Set(cases.map(({ c }) => `${c.method} ${c.route.pattern}`))].join(', ')
    const { c, answer } = cases[0] as (typeof todo)[number]
    // A failing assertion marked todo: reported, with its reproducer, without failing the run.
    t.fail(
      `known 5xx, ${bug}: ${cases.length} answers on ${routes}; e.g. ${describe(c)} → ${answer.status} ${answer.body.slice(0, 200)}`,
      { todo: `not fixed yet: ${bug}` },
    )
  }
  t.same(
    unexpected.map(({ c, answer }) => `${describe(c)} → ${answer.status} ${answer.body.slice(0, 300)}`).slice(0, 30),
    [],
    'no 5xx answer',
  )
  t.same(
    badEnvelope
      .map(({ c, answer }) => `${describe(c)} → ${answer.status} ${answer.contentType} ${answer.body.slice(0, 300)}`)
      .slice(0, 30),
    [],
    'every 4xx JSON answer is {"error":{"type","message"}}',
  )
  t.same(errors.map(({ c, error }) => `${describe(c)} → ${error}`).slice(0, 30), [], 'every request got an answer')
  t.ok(
    healthChecks > (FUZZ_SECONDS * 1000) / (HEALTH_EVERY_MS + HEALTH_BUDGET_MS) / 2,
    `the watchdog ran (${healthChecks} checks)`,
  )
  // A slow answer counts against the gateway when the main thread (where every handler runs)
  // spent the time computing: its own CPU time, less garbage collection pauses, over the budget.
  // Not when the host gave the process no CPU (a loaded CI runner), nor for a collector pause.
  const blamed = slowHealth.filter(slow => slow.status !== 200 || slow.cpuMs - slow.gcMs > HEALTH_BUDGET_MS)
  const worstSlow = [...slowHealth].sort((a, b) => b.ms - a.ms)[0]
  if (worstSlow)
    t.comment(
      `slowest /healthz: ${Math.round(worstSlow.ms)} ms at ${worstSlow.at} ms, main thread CPU ${worstSlow.cpuMs} ms, GC ${worstSlow.gcMs} ms, in flight: ${worstSlow.inFlight.join('; ')}`,
    )
  t.comment(
    `slow /healthz answers: ${slowHealth.length}, of which ${slowHealth.length - blamed.length} explained by the host not scheduling the process or by GC`,
  )
  t.same(
    blamed.slice(0, 30),
    [],
    `/healthz answered within ${HEALTH_BUDGET_MS} ms throughout (worst ${worstHealth.toFixed(1)} ms)`,
  )
})
