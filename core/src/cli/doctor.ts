import { accessSync, constants, mkdirSync } from 'node:fs'
import { loadConfig } from '../config/load.js'
import type { Config } from '../config/schema.js'
import { ParleyError } from '../errors.js'
import { createGateway, type Gateway } from '../kernel/gateway.js'
import { createLogger } from '../log.js'
import { redactCredentials } from '../redact.js'
import type { CliIo } from './run.js'

const DOCTOR_DB_TIMEOUT_MS = 5000

interface Finding {
  readonly ok: boolean
  readonly title: string
  readonly detail: string
}

/**
 * `parley doctor`: checks each piece an operator configures and says in plain words what is
 * wrong and how to fix it. Exit code 1 when anything failed.
 */
export async function runDoctor(io: CliIo): Promise<number> {
  const findings: Finding[] = []
  const report = (finding: Finding) => {
    findings.push(finding)
    io.out.write(`${finding.ok ? 'ok  ' : 'FAIL'}  ${finding.title}${finding.detail ? ` — ${finding.detail}` : ''}\n`)
  }

  let config: Config
  try {
    config = loadConfig({
      ...(io.env ? { env: io.env } : {}),
      overrides: { log: { level: 'silent' }, database: { connect_timeout_ms: DOCTOR_DB_TIMEOUT_MS } },
    })
    report({ ok: true, title: 'Configuration', detail: config.file ? `read ${config.file}` : 'no config file; defaults and environment' })
  } catch (error) {
    report({ ok: false, title: 'Configuration', detail: error instanceof ParleyError ? error.message : String(error) })
    return 1
  }

  try {
    mkdirSync(config.data_dir, { recursive: true })
    accessSync(config.data_dir, constants.W_OK)
    report({ ok: true, title: 'Data directory', detail: `${config.data_dir} is writable` })
  } catch (error) {
    report({ ok: false, title: 'Data directory', detail: `${config.data_dir} is not writable (${(error as NodeJS.ErrnoException).code}); fix its permissions or set DATA_DIR` })
  }

  const secrets = [config.secrets.secret_key ? null : 'SECRET_KEY', config.secrets.encryption_key ? null : 'ENCRYPTION_KEY'].filter(Boolean)
  report({
    ok: config.env !== 'production' || secrets.length === 0,
    title: 'Secrets',
    detail:
      secrets.length === 0
        ? 'SECRET_KEY and ENCRYPTION_KEY are set'
        : config.env === 'production'
          ? `${secrets.join(' and ')} missing; production refuses to start (openssl rand -hex 32)`
          : `${secrets.join(' and ')} not set; generated into ${config.data_dir}/secrets.json (set them for production)`,
  })

  let gateway: Gateway | undefined
  try {
    gateway = await createGateway({ config, logger: createLogger({ log: { level: 'silent' } }), migrate: false })
    report({ ok: true, title: 'Plugins', detail: gateway.plugins.map(p => `${p.definition.id}@${p.definition.version}`).join(', ') || 'none configured' })
    const where = config.database.url ? redactCredentials(config.database.url) : config.database.path
    await gateway.db.ping(DOCTOR_DB_TIMEOUT_MS)
    const pending = await gateway.db.pending()
    report({
      ok: true,
      title: 'Database',
      detail: `${gateway.db.dialect} at ${where} answers; ${pending.length === 0 ? 'schema up to date' : `${pending.length} migration(s) pending (applied by start or parley migrate)`}`,
    })
    if (gateway.kv.kind === 'redis') {
      await gateway.kv
        .ping()
        .then(() => report({ ok: true, title: 'Redis', detail: `${redactCredentials(config.redis.url ?? '')} answers` }))
        .catch(error => report({ ok: false, title: 'Redis', detail: `${redactCredentials(config.redis.url ?? '')} does not answer: ${(error as Error).message}` }))
    } else {
      report({ ok: true, title: 'Redis', detail: 'not configured; limits, caches and jobs stay in this process (single instance only)' })
    }
    for (const { id, item, owner } of gateway.registries.doctor.list()) {
      await item
        .run()
        .then(note => report({ ok: true, title: `${item.title} (${owner})`, detail: note ?? '' }))
        .catch(error => report({ ok: false, title: `${item.title} (${owner})`, detail: redactCredentials((error as Error).message || id) }))
    }
  } catch (error) {
    const code = error instanceof ParleyError ? error.code : ''
    const title = code.startsWith('PARLEY_ERR_DB') ? 'Database' : code.startsWith('PARLEY_ERR_PLUGIN') ? 'Plugins' : 'Gateway'
    const detail = error instanceof ParleyError ? error.message : (error as Error).message
    report({ ok: false, title, detail: redactCredentials(detail) })
  } finally {
    await gateway?.stop().catch(() => undefined)
  }

  const failed = findings.filter(finding => !finding.ok).length
  io.out.write(failed === 0 ? '\nEverything checked is fine.\n' : `\n${failed} problem(s) found.\n`)
  return failed === 0 ? 0 : 1
}
