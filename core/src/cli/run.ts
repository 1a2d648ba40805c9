import { loadConfig } from '../config/load.js'
import type { Config } from '../config/schema.js'
import { ParleyError } from '../errors.js'
import { releaseStartupMemory } from '../runtime.js'
import { createGateway, type Gateway } from '../kernel/gateway.js'
import { ChannelStore } from '../catalog/channels.js'
import { SecretBox } from '../catalog/secret-box.js'
import type { Secrets } from '../config/secrets.js'
import { TOKENS } from '../kernel/tokens.js'
import { runCheckTheme } from './check-theme.js'
import { runDoctor } from './doctor.js'
import { runNew } from './new.js'

export interface CliIo {
  readonly out: NodeJS.WritableStream
  readonly err: NodeJS.WritableStream
  readonly env?: Readonly<Record<string, string | undefined>>
  /** Signals that stop `start` (tests send their own). */
  readonly signals?: NodeJS.EventEmitter
}

const USAGE = `Usage: parley <command>

Commands:
  start     run the gateway (applies pending migrations first)
  migrate   apply pending database migrations and exit
  doctor    check configuration, database, Redis and plugins; explain what is wrong
  re-encrypt  seal every stored upstream secret with the current ENCRYPTION_KEY
  check-theme [--json] <dir>...  check theme folders (rule codes in docs/themes.md)
  new plugin|theme <name> [folder]  write a plugin or theme folder with a passing test
  help      show this text

Plugins may add commands (for example create-admin); run them the same way.
Configuration: config/default.yaml, or the file named by PARLEY_CONFIG, then environment
variables (APP_PORT, DATABASE_URL, REDIS_URL, ...). See docs/configuration.md.
`

/** `parley <command>`; resolves to the process exit code. */
export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  const [command = 'help', ...rest] = args
  try {
    switch (command) {
      case 'help':
      case '--help':
      case '-h':
        io.out.write(USAGE)
        return 0
      case 'start':
        return await start(io)
      case 'migrate':
        return await migrate(io)
      case 'doctor':
        return await runDoctor(io)
      case 're-encrypt':
        return await reencrypt(io)
      case 'check-theme':
        return runCheckTheme(rest, io)
      case 'new':
        return runNew(rest, io)
      default:
        return await pluginCommand(command, rest, io)
    }
  } catch (error) {
    io.err.write(`${describeFailure(error)}\n`)
    return 1
  }
}

/** Coded errors are explained without a stack; anything else is a bug and keeps it. */
export function describeFailure(error: unknown): string {
  if (error instanceof ParleyError) return `parley: ${error.message} [${error.code}]`
  return `parley: unexpected failure: ${(error as Error)?.stack ?? String(error)}`
}

function config(io: CliIo): Config {
  return loadConfig(io.env ? { env: io.env } : {})
}

async function start(io: CliIo): Promise<number> {
  const gateway = await createGateway({ config: config(io) })
  const signals = io.signals ?? process
  let stopping = false
  const stopped = new Promise<number>(resolve => {
    const onSignal = (signal: string) => {
      if (stopping) {
        gateway.log.warn({ signal }, 'second signal: exiting without waiting')
        resolve(1)
        return
      }
      stopping = true
      gateway.log.info({ signal }, 'stopping: draining requests')
      gateway.stop().then(
        () => resolve(0),
        error => {
          gateway.log.error({ err: error }, 'stop failed')
          resolve(1)
        },
      )
    }
    signals.on('SIGTERM', () => onSignal('SIGTERM'))
    signals.on('SIGINT', () => onSignal('SIGINT'))
  })
  try {
    await gateway.start()
    // What the start allocated goes back before the first request can wait on the collection.
    await releaseStartupMemory()
    await gateway.listen()
  } catch (error) {
    await gateway.stop().catch(() => undefined)
    throw error
  }
  return stopped
}

async function migrate(io: CliIo): Promise<number> {
  const gateway = await createGateway({ config: config(io), migrate: false })
  try {
    const applied = await gateway.db.migrate()
    io.out.write(
      applied.length === 0
        ? 'Database is up to date.\n'
        : `Applied ${applied.length} migration(s):\n${applied.map(name => `  ${name}\n`).join('')}`,
    )
    return 0
  } finally {
    await gateway.stop()
  }
}

async function reencrypt(io: CliIo): Promise<number> {
  const gateway = await createGateway({ config: config(io) })
  try {
    await gateway.start()
    const store = new ChannelStore(
      SecretBox.fromSecrets(gateway.container.resolve<Secrets>(TOKENS.secrets)),
      gateway.registries.providers,
    )
    const { keys, settings } = await store.reencrypt(gateway.db.em())
    io.out.write(
      `Re-encrypted ${keys} channel key(s) and ${settings} secret setting(s) with the current ENCRYPTION_KEY.\n`,
    )
    return 0
  } finally {
    await gateway.stop()
  }
}

async function pluginCommand(name: string, args: readonly string[], io: CliIo): Promise<number> {
  let gateway: Gateway | undefined
  try {
    gateway = await createGateway({ config: config(io) })
    const command = gateway.registries.commands.get(name)
    if (!command) {
      io.err.write(`parley: unknown command "${name}"\n\n${USAGE}`)
      return 2
    }
    await gateway.start()
    return await command.run(args, gateway)
  } finally {
    await gateway?.stop()
  }
}
