import type { Test } from 'tap'
import identity from '@parley/identity'
import { createTestGateway, testServices, type TestGateway } from '@parley/core/testing'

/**
 * Two instances of one deployment with the identity plugin: a fresh MariaDB database and a
 * Redis prefix that `b` shares with `a`, closed in the order the test kit asks (`b` first).
 * Callers skip when `missingService('mysql') || missingService('redis')`.
 */
export async function twoInstances(
  t: Test,
  admin: { username: string; password: string },
): Promise<{ a: TestGateway; b: TestGateway }> {
  const a = await createTestGateway({
    plugins: [identity],
    mysqlUrl: testServices.mysqlUrl,
    redisUrl: testServices.redisUrl,
    config: { admin },
  })
  const b = await createTestGateway({ plugins: [identity], sharedWith: a, config: { admin } })
  t.teardown(async () => {
    await b.close()
    await a.close()
  })
  return { a, b }
}
