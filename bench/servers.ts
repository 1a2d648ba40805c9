/**
 * Starts each server in a child process of its own, so none shares an event loop with the load
 * generator (the runner) or with another server. Children inherit the runner's Node flags (the
 * TypeScript loader and the `parley-source` condition) and may add their own (`--cpu-prof`).
 */
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { ServerMessage } from './child.js'

const READY_TIMEOUT_MS = 60_000
const STOP_TIMEOUT_MS = 15_000

export interface RunningServer {
  readonly name: string
  readonly url: string
  readonly pid: number
  /** Asks the child to close and exit; kills it if it does not within 15 s. */
  stop(): Promise<void>
}

export async function startServer(name: string, entry: string, options: { args?: string[]; execArgv?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<RunningServer> {
  const child = fork(fileURLToPath(new URL(entry, import.meta.url)), options.args ?? [], {
    execArgv: [...process.execArgv, ...(options.execArgv ?? [])],
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1', ...options.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const url = await ready(name, child)
  return {
    name,
    url,
    pid: child.pid as number,
    stop: () => stopChild(child),
  }
}

function ready(name: string, child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${name} did not start within ${READY_TIMEOUT_MS / 1000} s`))
    }, READY_TIMEOUT_MS)
    child.once('exit', code => {
      clearTimeout(timer)
      reject(new Error(`${name} exited during start (code ${code})`))
    })
    child.on('message', (message: ServerMessage) => {
      if (message.type !== 'ready') return
      clearTimeout(timer)
      child.removeAllListeners('exit')
      resolve(message.url)
    })
  })
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise(resolve => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.send('stop')
  })
}
