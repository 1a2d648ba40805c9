/**
 * s3rver (npm `@20minutes/s3rver`, a real S3 API that checks SigV4 signatures) in a child
 * process on a random port with one bucket, for the uploads tests on the S3 driver. The same
 * way plugins/storage-s3's tests start it; a package's test folder cannot be imported.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

const CHILD = `
const S3rver = require('@20minutes/s3rver')
const [directory, bucket] = process.argv.slice(1)
new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] })
  .run()
  .then(address => process.stdout.write(JSON.stringify({ port: address.port }) + '\\n'))
  .catch(error => { console.error(error); process.exit(1) })
process.stdin.resume()
process.stdin.on('end', () => process.exit(0))
`

export interface S3rver {
  readonly endpoint: string
  readonly bucket: string
  close(): Promise<void>
}

/** Starts s3rver with `bucket`; its one key pair is S3RVER / S3RVER. */
export async function startS3rver(bucket = 'parley-uploads'): Promise<S3rver> {
  const directory = mkdtempSync(path.join(tmpdir(), 'parley-uploads-s3-'))
  const child = spawn(process.execPath, ['-e', CHILD, directory, bucket], {
    cwd: import.meta.dirname,
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let output = ''
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`s3rver did not start:\n${output}`)), 15_000)
    child.stdout.on('data', chunk => {
      output += chunk
      const line = output.split('\n').find(text => text.startsWith('{'))
      if (!line) return
      clearTimeout(timer)
      resolve((JSON.parse(line) as { port: number }).port)
    })
    child.stderr.on('data', chunk => (output += chunk))
    child.once('exit', code => {
      clearTimeout(timer)
      reject(new Error(`s3rver exited with ${code}:\n${output}`))
    })
  })
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise(resolve => child.once('exit', resolve))
        child.stdin.end()
        child.kill('SIGTERM')
        await exited
      }
      rmSync(directory, { recursive: true, force: true })
    },
  }
}
