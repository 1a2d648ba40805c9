/**
 * Real services for tests. `npm test` (scripts/test.mjs) probes Redis and MySQL and sets
 * these variables only when they answer, so a suite that needs one checks here and skips
 * with a reason otherwise; CI sets PARLEY_REQUIRE_SERVICES=1 and never skips.
 */
export const testServices = {
  get redisUrl(): string | undefined {
    return process.env.PARLEY_TEST_REDIS_URL || undefined
  },
  get mysqlUrl(): string | undefined {
    return process.env.PARLEY_TEST_MYSQL_URL || undefined
  },
}

/** The reason to pass to tap's `skip` option when a service is missing. */
export function missingService(name: 'redis' | 'mysql'): string | false {
  const url = name === 'redis' ? testServices.redisUrl : testServices.mysqlUrl
  if (url) return false
  const variable = name === 'redis' ? 'PARLEY_TEST_REDIS_URL' : 'PARLEY_TEST_MYSQL_URL'
  return `${name} not reachable: start it or set ${variable} (npm test probes 127.0.0.1 by default)`
}
