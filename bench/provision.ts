/**
 * Sets Parley up for the run through its HTTP API only, as an operator and a user would: the
 * admin signs in and creates a channel pointing at the mock; a user registers and creates an
 * API token. Nothing is written to the database behind the gateway's back.
 */
import { randomBytes } from 'node:crypto'

export const BENCH_MODEL = 'gpt-4o-mini'
const READY_TIMEOUT_MS = 10_000

export interface Provisioned {
  /** The user's `prl_...` API token, sent by the load generator on every call. */
  readonly apiToken: string
  readonly channelId: number
}

async function call<T>(
  base: string,
  method: string,
  path: string,
  body: unknown,
  bearer?: string,
): Promise<{ status: number; json: T }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: response.status, json: (await response.json().catch(() => undefined)) as T }
}

async function expect<T>(what: string, status: number, pending: Promise<{ status: number; json: T }>): Promise<T> {
  const answer = await pending
  if (answer.status !== status) throw new Error(`${what}: HTTP ${answer.status} ${JSON.stringify(answer.json)}`)
  return answer.json
}

export async function provision(
  parley: string,
  mock: string,
  admin: { username: string; password: string },
): Promise<Provisioned> {
  const { access_token: adminToken } = await expect<{ access_token: string }>(
    'admin login',
    200,
    call(parley, 'POST', '/api/auth/admin/login', admin),
  )
  const channel = await expect<{ id: number }>(
    'create channel',
    201,
    call(
      parley,
      'POST',
      '/api/admin/channels',
      {
        name: 'bench-mock',
        provider: 'openai',
        base_url: `${mock}/v1`,
        keys: ['sk-bench-upstream-key'],
        models: [BENCH_MODEL],
      },
      adminToken,
    ),
  )

  const password = randomBytes(18).toString('base64url')
  const user = { email: 'bench@example.com', username: 'bench', password, password_confirm: password }
  const { access_token: session } = await expect<{ access_token: string }>(
    'register',
    201,
    call(parley, 'POST', '/api/auth/register', user),
  )
  const { token } = await expect<{ token: string }>(
    'create API token',
    201,
    call(parley, 'POST', '/api/tokens', { name: 'bench' }, session),
  )

  // The catalog reloads on the change announcement, a moment after the 201.
  const deadline = Date.now() + READY_TIMEOUT_MS
  for (;;) {
    const probe = await call(
      parley,
      'POST',
      '/v1/chat/completions',
      { model: BENCH_MODEL, messages: [{ role: 'user', content: 'ping' }] },
      token,
    )
    if (probe.status === 200) break
    if (Date.now() > deadline)
      throw new Error(`the channel never became routable: HTTP ${probe.status} ${JSON.stringify(probe.json)}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  return { apiToken: token, channelId: channel.id }
}

/**
 * Parley's usage rows dropped so far (`parley_usage_rows_dropped_total` on `/metrics`). A
 * cell that drops rows measured a gateway that did not keep up with its own usage log: its
 * figures would flatter Parley, so the run fails.
 */
export async function usageRowsDropped(parley: string): Promise<number> {
  const text = await (await fetch(`${parley}/metrics`)).text()
  const line = /^parley_usage_rows_dropped_total(?:\{\})? (\d+(?:\.\d+)?(?:e\+?\d+)?)$/m.exec(text)
  return line ? Number(line[1]) : 0
}
