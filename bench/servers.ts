/**
 * Starts each server in a child process of its own, so none shares an event loop with the load
 * generator (the runner) or with another server. Children inherit the runner's Node flags (the
 * TypeScript loader and the `parley-source` condition).
 */
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { RunnerMessage, ServerMessage } from './child.js'
import type { HeapFigures, HeapOptions } from './heap.js'

const READY_TIMEOUT_MS = 60_000
const STOP_TIMEOUT_MS = 15_000

export interface RunningServer {
  readonly name: string
  readonly url: string
  readonly pid: number
  /** Starts V8's CPU profiler in the child. */
  startProfile(): Promise<void>
  /** Stops it and has the child write the `.cpuprofile` to `file`. */
  stopProfile(file: string): Promise<void>
  /** Starts counting what the child allocates (bench/heap.ts). */
  startHeap(options: HeapOptions): Promise<void>
  /** Stops counting and answers the figures. */
  stopHeap(): Promise<HeapFigures>
  /** Asks the child to close and exit; kills it if it does not within 15 s. */
  stop(): Promise<void>
}

export interface ServerOptions {
  readonly args?: string[]
  readonly env?: NodeJS.ProcessEnv
  /** Node flags, instead of the runner's own. */
  readonly execArgv?: string[]
  /** Another Node executable (or a launcher around it, e.g. under valgrind). */
  readonly execPath?: string
  /** How long it may take to start (default 60 s). */
  readonly readyTimeoutMs?: number
}

export async function startServer(name: string, entry: string, options: ServerOptions = {}): Promise<RunningServer> {
  const child = fork(fileURLToPath(new URL(entry, import.meta.url)), options.args ?? [], {
    execArgv: options.execArgv ?? process.execArgv,
    ...(options.execPath ? { execPath: options.execPath } : {}),
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1', ...options.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const url = await ready(name, child, options.readyTimeoutMs ?? READY_TIMEOUT_MS)
  return {
    name,
    url,
    pid: child.pid as number,
    startProfile: () => ask(child, { type: 'profile-start' }, 'profiling').then(() => undefined),
    stopProfile: file => ask(child, { type: 'profile-stop', file }, 'profiled').then(() => undefined),
    startHeap: options => ask(child, { type: 'heap-start', options }, 'heap-counting').then(() => undefined),
    stopHeap: () =>
      ask(child, { type: 'heap-stop' }, 'heap').then(
        reply => (reply as Extract<ServerMessage, { type: 'heap' }>).figures,
      ),
    stop: () => stopChild(child),
  }
}

function ready(name: string, child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${name} did not start within ${timeoutMs / 1000} s`))
    }, timeoutMs)
    const exited = (code: number | null) => {
      clearTimeout(timer)
      reject(new Error(`${name} exited during start (code ${code})`))
    }
    child.once('exit', exited)
    child.on('message', (message: ServerMessage) => {
      if (message.type !== 'ready') return
      clearTimeout(timer)
      child.off('exit', exited)
      resolve(message.url)
    })
  })
}

function ask(child: ChildProcess, message: RunnerMessage, answer: ServerMessage['type']): Promise<ServerMessage> {
  return new Promise((resolve, reject) => {
    const listen = (reply: ServerMessage) => {
      if (reply.type !== answer && reply.type !== 'failed') return
      child.off('message', listen)
      if (reply.type === 'failed') reject(new Error(reply.message))
      else resolve(reply)
    }
    child.on('message', listen)
    child.send(message)
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
    const message: RunnerMessage = { type: 'stop' }
    child.send(message)
  })
}
