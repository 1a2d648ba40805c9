/**
 * A mock Coze API for the coze plugin's tests, faithful to the documented contract:
 * - `POST /api/permission/oauth2/token`: verifies the RS256 JWT against the app's public key and
 *   every claim (`kid`, `iss`, `aud` = the API host, `iat`, `exp`, a never-seen `jti`), answers
 *   `{access_token, expires_in}` with `expires_in` a UNIX time, errors as `{error_code, error_message}`;
 * - `POST /v3/chat`: checks the Bearer token (a PAT or a live issued token) and the body, then
 *   streams `event:`/`data:` frames as Coze does, or refuses with a JSON `{code, msg}` body;
 * - `POST /v1/files/upload`: multipart upload answering `{code: 0, data: {id}}`.
 * Every request is recorded; answers are scripted with `reply()`.
 */
import { randomBytes, verify, type KeyObject } from 'node:crypto'
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer'

export interface MockApp {
  readonly appId: string
  readonly keyId: string
  readonly publicKey: KeyObject
}

export interface MockCozeOptions {
  readonly apps?: readonly MockApp[]
  /** Personal access tokens the mock accepts. */
  readonly pats?: readonly string[]
  /** Issued tokens live this long whatever `duration_seconds` asked (short lifetimes for expiry tests). */
  readonly tokenLifetimeSeconds?: number
  /** Each exchange waits this long before answering (to pile up concurrent callers). */
  readonly exchangeDelayMs?: number
  /** The HTTP status of an unknown or expired token on the API (with code 4100 in the body). */
  readonly authFailureStatus?: number
}

/** What one chat answers. The default is `{ text: 'ok' }`. */
export interface ChatScript {
  readonly text?: string
  readonly reasoning?: string
  /** Further answer messages after the first (a workflow's message nodes). */
  readonly moreAnswers?: readonly string[]
  /** Coze's counts; by default words in and out. `false` reports zeros. */
  readonly usage?: { readonly input: number; readonly output: number } | false
  /** The answer comes whole in `conversation.message.completed`, without deltas. */
  readonly completedOnly?: boolean
  /** Wait between frames. */
  readonly chunkDelayMs?: number
  /** After the text (if any): the chat fails with `conversation.chat.failed`. */
  readonly chatFailed?: { readonly code: number; readonly msg: string }
  /** After the text (if any): an `error` event. */
  readonly errorEvent?: { readonly code: number; readonly msg: string }
  /** A JSON refusal instead of the stream; HTTP 200 unless `status` says otherwise. */
  readonly refuse?: { readonly code: number; readonly msg: string; readonly status?: number }
  /** The stream ends after the text, without `conversation.chat.completed`. */
  readonly endEarly?: boolean
}

export interface ExchangeRecord {
  readonly ok: boolean
  /** The JWT as sent (a credential: tests check it is never logged). */
  readonly jwt: string | undefined
  /** Why the mock refused it. */
  readonly problem?: string
  readonly header?: Record<string, unknown>
  readonly claims?: Record<string, unknown>
  readonly body?: Record<string, unknown>
  readonly token?: string
  readonly expiresIn?: number
  readonly at: number
}

export interface ChatRecord {
  readonly token: string | undefined
  readonly body: Record<string, unknown> | undefined
  readonly status: number
  /** The Coze code when refused (0 when streamed). */
  readonly code: number
  readonly at: number
}

export interface UploadRecord {
  readonly id: string
  readonly token: string | undefined
  readonly name: string
  readonly type: string
  readonly bytes: Buffer
}

export interface MockCoze {
  /** The API base, as a channel's `base_url`. */
  readonly url: string
  /** `127.0.0.1:<port>`: what the JWT `aud` must say. */
  readonly host: string
  readonly exchanges: readonly ExchangeRecord[]
  readonly chats: readonly ChatRecord[]
  readonly uploads: readonly UploadRecord[]
  /** Queues answers for the next chats, in order. */
  reply(...scripts: ChatScript[]): void
  /** The next `count` exchanges fail with this answer (after the JWT checks passed). */
  failExchanges(count: number, failure?: { status?: number; error_code?: string; error_message?: string }): void
  /** Coze stops accepting this token (revoked app, lost authorisation). */
  revoke(token: string): void
  close(): Promise<void>
}

export async function startMockCoze(options: MockCozeOptions = {}): Promise<MockCoze> {
  const exchanges: ExchangeRecord[] = []
  const chats: ChatRecord[] = []
  const uploads: UploadRecord[] = []
  const scripts: ChatScript[] = []
  const issued = new Map<string, number>()
  const revoked = new Set<string>()
  const seenJti = new Set<string>()
  let failures: { count: number; answer: { status?: number; error_code?: string; error_message?: string } } = {
    count: 0,
    answer: {},
  }

  const tokenOf = (request: IncomingMessage) => /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1]
  const authorized = (token: string | undefined) => {
    if (token === undefined || revoked.has(token)) return false
    if (options.pats?.includes(token)) return true
    const expires = issued.get(token)
    return expires !== undefined && expires > Date.now()
  }

  async function exchange(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const at = Date.now()
    const jwt = tokenOf(request)
    const body = parseObject((await readBody(request)).toString('utf8'))
    const checked = checkJwt(jwt, request.headers.host ?? '', options.apps ?? [], seenJti)
    if (options.exchangeDelayMs) await sleep(options.exchangeDelayMs)
    const refuse = (status: number, error_code: string, problem: string) => {
      exchanges.push({
        ok: false,
        jwt,
        problem,
        ...(checked.header ? { header: checked.header } : {}),
        ...(checked.claims ? { claims: checked.claims } : {}),
        ...(body ? { body } : {}),
        at,
      })
      sendJson(response, status, { error_code, error_message: problem })
    }
    if (checked.problem) return refuse(401, 'invalid_client', checked.problem)
    if (body?.grant_type !== JWT_BEARER)
      return refuse(400, 'unsupported_grant_type', `not supported grant type: ${String(body?.grant_type)}`)
    const duration = body.duration_seconds
    if (
      duration !== undefined &&
      (!Number.isInteger(duration) || (duration as number) < 1 || (duration as number) > 86_399)
    )
      return refuse(400, 'invalid_request', 'invalid request: duration_seconds')
    if (failures.count > 0) {
      failures.count--
      const answer = failures.answer
      return refuse(
        answer.status ?? 401,
        answer.error_code ?? 'invalid_client',
        answer.error_message ?? 'the app is not authorised',
      )
    }
    const lifetime = options.tokenLifetimeSeconds ?? (duration as number | undefined) ?? 900
    const token = `czs_${randomBytes(24).toString('hex')}`
    const expiresIn = Math.floor(at / 1000) + lifetime
    issued.set(token, expiresIn * 1000)
    exchanges.push({
      ok: true,
      jwt,
      ...(checked.header ? { header: checked.header } : {}),
      ...(checked.claims ? { claims: checked.claims } : {}),
      body,
      token,
      expiresIn,
      at,
    })
    sendJson(response, 200, { access_token: token, expires_in: expiresIn, token_type: 'Bearer' })
  }

  async function chat(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const at = Date.now()
    const token = tokenOf(request)
    const body = parseObject((await readBody(request)).toString('utf8'))
    const record = (status: number, code: number) => chats.push({ token, body, status, code, at })
    if (!authorized(token)) {
      record(options.authFailureStatus ?? 401, 4100)
      return sendJson(response, options.authFailureStatus ?? 401, {
        code: 4100,
        msg: 'authentication is invalid: the access token is incorrect or expired',
      })
    }
    const problem = checkChatBody(body, new Set(uploads.map(upload => upload.id)))
    if (problem) {
      record(200, 4000)
      return sendJson(response, 200, { code: 4000, msg: `invalid parameter: ${problem}` })
    }
    const script = scripts.shift() ?? {}
    if (script.refuse) {
      record(script.refuse.status ?? 200, script.refuse.code)
      return sendJson(response, script.refuse.status ?? 200, { code: script.refuse.code, msg: script.refuse.msg })
    }
    record(200, 0)
    await streamChat(response, body as Record<string, unknown>, script)
  }

  async function upload(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const token = tokenOf(request)
    const raw = await readBody(request)
    if (!authorized(token))
      return sendJson(response, options.authFailureStatus ?? 401, { code: 4100, msg: 'authentication is invalid' })
    const form = await new Response(raw, { headers: { 'content-type': String(request.headers['content-type']) } })
      .formData()
      .catch(() => undefined)
    const file = form?.get('file')
    if (!file || typeof file === 'string')
      return sendJson(response, 200, { code: 4000, msg: 'invalid parameter: file' })
    const id = String(7_400_000_000_000_000_000n + BigInt(uploads.length + 1))
    const bytes = Buffer.from(await file.arrayBuffer())
    uploads.push({ id, token, name: file.name, type: file.type, bytes })
    sendJson(response, 200, {
      code: 0,
      msg: '',
      data: { id, bytes: bytes.length, file_name: file.name, created_at: Math.floor(Date.now() / 1000) },
    })
  }

  const server = http.createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0]
    const route =
      request.method === 'POST' && path === '/api/permission/oauth2/token'
        ? exchange
        : request.method === 'POST' && path === '/v3/chat'
          ? chat
          : request.method === 'POST' && path === '/v1/files/upload'
            ? upload
            : undefined
    if (!route) return sendJson(response, 404, { code: 4004, msg: 'not found' })
    route(request, response).catch(() => response.destroy())
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    exchanges,
    chats,
    uploads,
    reply: (...next) => void scripts.push(...next),
    failExchanges: (count, answer = {}) => void (failures = { count, answer }),
    revoke: token => void revoked.add(token),
    close: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** The JWT checks of the exchange: structure, `kid`, signature, then each claim. */
function checkJwt(
  jwt: string | undefined,
  host: string,
  apps: readonly MockApp[],
  seenJti: Set<string>,
): { problem?: string; header?: Record<string, unknown>; claims?: Record<string, unknown> } {
  const parts = jwt?.split('.') ?? []
  if (parts.length !== 3) return { problem: 'the Authorization header carries no JWT' }
  const [rawHeader, rawClaims, rawSignature] = parts as [string, string, string]
  const header = parseObject(Buffer.from(rawHeader, 'base64url').toString('utf8'))
  const claims = parseObject(Buffer.from(rawClaims, 'base64url').toString('utf8'))
  if (!header || !claims) return { problem: 'the JWT is not JSON' }
  const seen = { header, claims }
  if (header.alg !== 'RS256' || header.typ !== 'JWT')
    return { ...seen, problem: `alg/typ must be RS256/JWT, got ${String(header.alg)}/${String(header.typ)}` }
  const app = apps.find(candidate => candidate.keyId === header.kid)
  if (!app) return { ...seen, problem: `unknown kid ${String(header.kid)}` }
  if (
    !verify('sha256', Buffer.from(`${rawHeader}.${rawClaims}`), app.publicKey, Buffer.from(rawSignature, 'base64url'))
  )
    return { ...seen, problem: 'bad signature' }
  const now = Math.floor(Date.now() / 1000)
  if (claims.iss !== app.appId)
    return { ...seen, problem: `iss ${String(claims.iss)} is not the app of kid ${app.keyId}` }
  if (claims.aud !== host) return { ...seen, problem: `aud ${String(claims.aud)} is not the API host ${host}` }
  if (!Number.isInteger(claims.iat) || Math.abs((claims.iat as number) - now) > 60)
    return { ...seen, problem: 'iat missing or not now' }
  if (
    !Number.isInteger(claims.exp) ||
    (claims.exp as number) <= now ||
    (claims.exp as number) <= (claims.iat as number)
  )
    return { ...seen, problem: 'exp missing, past, or not after iat' }
  if ((claims.exp as number) - (claims.iat as number) > 86_400)
    return { ...seen, problem: 'the JWT lives longer than a day' }
  if (typeof claims.jti !== 'string' || claims.jti.length < 32)
    return { ...seen, problem: 'jti missing or shorter than 32 characters' }
  if (seenJti.has(claims.jti)) return { ...seen, problem: 'jti replayed' }
  seenJti.add(claims.jti)
  return seen
}

/** What `POST /v3/chat` requires of its body; a problem is answered with code 4000. */
function checkChatBody(body: Record<string, unknown> | undefined, files: ReadonlySet<string>): string | undefined {
  if (!body) return 'body is not JSON'
  if (typeof body.bot_id !== 'string' || !/^[0-9]+$/.test(body.bot_id)) return 'bot_id'
  if (typeof body.user_id !== 'string' || body.user_id === '') return 'user_id'
  if (body.stream !== true) return 'stream (this mock only streams)'
  const messages = body.additional_messages
  if (!Array.isArray(messages)) return 'additional_messages'
  for (const [index, message] of (messages as Array<Record<string, unknown>>).entries()) {
    const where = `additional_messages[${index}]`
    if (message.role !== 'user' && message.role !== 'assistant') return `${where}.role`
    if (message.type !== undefined && message.type !== (message.role === 'user' ? 'question' : 'answer'))
      return `${where}.type`
    if (typeof message.content !== 'string' || message.content === '') return `${where}.content`
    if (message.content_type === 'text') continue
    if (message.content_type !== 'object_string' || message.role !== 'user') return `${where}.content_type`
    let items: unknown
    try {
      items = JSON.parse(message.content)
    } catch {
      return `${where}.content is not an object_string`
    }
    if (!Array.isArray(items) || items.length === 0) return `${where}.content is not an object_string`
    for (const item of items as Array<Record<string, unknown>>) {
      if (item.type === 'text' && typeof item.text === 'string') continue
      if (item.type !== 'image' && item.type !== 'file') return `${where}: object_string item type ${String(item.type)}`
      if (typeof item.file_url === 'string' && /^https?:\/\//.test(item.file_url)) continue
      if (typeof item.file_id === 'string' && files.has(item.file_id)) continue
      return `${where}: an image needs a public file_url or an uploaded file_id`
    }
  }
  return undefined
}

async function streamChat(response: ServerResponse, body: Record<string, unknown>, script: ChatScript): Promise<void> {
  const chatId = String(7_500_000_000_000_000_000n + BigInt(Math.floor(Math.random() * 1e9)))
  const conversationId = String(BigInt(chatId) + 1n)
  const base = {
    id: chatId,
    conversation_id: conversationId,
    bot_id: body.bot_id,
    created_at: Math.floor(Date.now() / 1000),
    section_id: conversationId,
  }
  const message = (id: string, type: string, extra: Record<string, unknown>) => ({
    id,
    conversation_id: conversationId,
    bot_id: body.bot_id,
    role: 'assistant',
    type,
    content_type: 'text',
    chat_id: chatId,
    section_id: conversationId,
    ...extra,
  })
  response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' })
  const send = async (event: string, data: unknown) => {
    if (response.destroyed) return
    response.write(`event:${event}\ndata:${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`)
    if (script.chunkDelayMs) await sleep(script.chunkDelayMs)
  }
  const zero = { token_count: 0, output_count: 0, input_count: 0 }
  await send('conversation.chat.created', { ...base, last_error: { code: 0, msg: '' }, status: 'created', usage: zero })
  await send('conversation.chat.in_progress', {
    ...base,
    last_error: { code: 0, msg: '' },
    status: 'in_progress',
    usage: zero,
  })
  const answers = [script.text ?? (script.chatFailed || script.errorEvent ? '' : 'ok'), ...(script.moreAnswers ?? [])]
  for (const [index, answer] of answers.entries()) {
    const id = String(BigInt(chatId) + 10n + BigInt(index))
    if (!script.completedOnly) {
      if (index === 0)
        for (const piece of pieces(script.reasoning ?? ''))
          await send('conversation.message.delta', message(id, 'answer', { content: '', reasoning_content: piece }))
      for (const piece of pieces(answer))
        await send('conversation.message.delta', message(id, 'answer', { content: piece }))
    }
    if (script.chatFailed || script.errorEvent || script.endEarly) continue
    if (answer !== '')
      await send(
        'conversation.message.completed',
        message(id, 'answer', {
          content: answer,
          ...(index === 0 && script.reasoning ? { reasoning_content: script.reasoning } : {}),
          created_at: base.created_at,
        }),
      )
  }
  if (script.endEarly) return void response.end()
  if (script.errorEvent) {
    await send('error', { code: script.errorEvent.code, msg: script.errorEvent.msg })
    return void response.end()
  }
  if (script.chatFailed) {
    await send('conversation.chat.failed', {
      ...base,
      failed_at: Math.floor(Date.now() / 1000),
      last_error: script.chatFailed,
      status: 'failed',
      usage: zero,
    })
    await send('done', '"[DONE]"')
    return void response.end()
  }
  // Not part of the reply: the "all answers sent" marker and suggested follow-up questions.
  await send(
    'conversation.message.completed',
    message(`${chatId}1`, 'verbose', {
      content: JSON.stringify({ msg_type: 'generate_answer_finish', data: '{"finish_reason":0,"FinData":""}' }),
    }),
  )
  await send(
    'conversation.message.completed',
    message(`${chatId}2`, 'follow_up', { content: 'What else would you like to know?' }),
  )
  const words = (text: string) => text.split(/\s+/).filter(Boolean).length
  const asked = (body.additional_messages as Array<{ content: string }>).map(m => m.content).join(' ')
  const input = script.usage === false ? 0 : (script.usage?.input ?? words(asked))
  const output =
    script.usage === false ? 0 : (script.usage?.output ?? words(answers.join(' ')) + words(script.reasoning ?? ''))
  await send('conversation.chat.completed', {
    ...base,
    completed_at: Math.floor(Date.now() / 1000),
    last_error: { code: 0, msg: '' },
    status: 'completed',
    usage: { token_count: input + output, output_count: output, input_count: input },
  })
  await send('done', '"[DONE]"')
  response.end()
}

/** Words with their trailing space, so the pieces add up to the text. */
function pieces(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? []
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => resolve(Buffer.concat(chunks)))
    request.on('error', reject)
  })
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  })
  response.end(text)
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}
