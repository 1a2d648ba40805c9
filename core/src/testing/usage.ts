import type { TestGateway } from './gateway.js'

/** One `usage_logs` row as the database returns it (snake_case columns). */
export interface UsageRow {
  readonly id: number
  readonly request_id: string
  readonly principal_kind: string
  readonly user_id: number | null
  readonly username: string | null
  readonly token_id: number | null
  readonly model: string
  readonly channel_id: number | null
  readonly channel_name: string | null
  readonly prompt_tokens: number
  readonly completion_tokens: number
  /** 0/1 on SQLite, booleans elsewhere: compare with `Boolean(...)`. */
  readonly estimated: number | boolean
  readonly status: string
  readonly error_type: string | null
  readonly latency_ms: number
  readonly ttfb_ms: number | null
  readonly endpoint: string
  readonly stream: number | boolean
}

/** Flushes the usage writer and returns every row, oldest first. */
export async function usageRows(gateway: TestGateway): Promise<UsageRow[]> {
  await gateway.usage.flush()
  return (await gateway.db.em().getConnection().execute('select * from usage_logs order by id')) as UsageRow[]
}

/** Waits until `count` rows were recorded (a streamed call records once the stream ends) and returns them. */
export async function waitForRows(gateway: TestGateway, count: number, withinMs = 3000): Promise<UsageRow[]> {
  const deadline = Date.now() + withinMs
  for (;;) {
    const rows = await usageRows(gateway)
    if (rows.length >= count) return rows
    if (Date.now() > deadline) throw new Error(`expected ${count} usage rows, found ${rows.length}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}
