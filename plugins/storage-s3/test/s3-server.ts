/**
 * A real S3-compatible server for the tests: s3rver (npm `@20minutes/s3rver`) in a child
 * process on a random port, with a fresh folder. It checks SigV4 signatures (header and
 * presigned-query forms) against its one key pair, so a wrongly presigned URL fails the test.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

/** s3rver's built-in key pair (its only account). */
export const S3RVER_CREDENTIALS = Object.freeze({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' })

export interface S3TestServer {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string
  readonly port: number
  readonly bucket: string
  close(): Promise<void>
}

const START_TIMEOUT_MS = 15_000

/** The child: starts s3rver and prints its port as one JSON line; exits when its stdin closes. */
const CHILD = `
const S3rver = require('@20minutes/s3rver')
const fs = require('node:fs')
const [directory, bucket, cors] = process.argv.slice(1)
const configs = cors ? [fs.readFileSync(cors)] : []
new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket, configs }] })
  .run()
  .then(address => process.stdout.write(JSON.stringify({ port: address.port }) + '\\n'))
  .catch(error => { console.error(error); process.exit(1) })
process.stdin.resume()
process.stdin.on('end', () => process.exit(0))
`

/** Starts the server with one bucket (and its CORS configuration, an XML document, if given). */
export async function startS3Server(options: { bucket?: string; corsXml?: string } = {}): Promise<S3TestServer> {
  const bucket = options.bucket ?? 'parley-test'
  const directory = mkdtempSync(path.join(tmpdir(), 'parley-s3rver-'))
  const args = ['-e', CHILD, directory, bucket]
  if (options.corsXml) {
    const file = path.join(directory, 'cors.xml')
    writeFileSync(file, options.corsXml)
    args.push(file)
  }
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: import.meta.dirname,
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let output = ''
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`s3rver did not start within ${START_TIMEOUT_MS} ms:\n${output}`)),
      START_TIMEOUT_MS,
    )
    child.stdout?.on('data', chunk => {
      output += chunk
      const line = output.split('\n').find(text => text.startsWith('{'))
      if (line) {
        clearTimeout(timer)
        resolve((JSON.parse(line) as { port: number }).port)
      }
    })
    child.stderr?.on('data', chunk => (output += chunk))
    child.once('exit', code => {
      clearTimeout(timer)
      reject(new Error(`s3rver exited with ${code}:\n${output}`))
    })
  })
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    bucket,
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise(resolve => child.once('exit', resolve))
        child.stdin?.end()
        child.kill('SIGTERM')
        await exited
      }
      rmSync(directory, { recursive: true, force: true })
    },
  }
}
